// Package seed loads seed files (spec section 4) and the built-in demo.
//
// A seed file is one JSON object:
//
//	{"projects":[{"id":"gigs","name":"…","settings":{…},
//	  "users":[…],"plans":[…],"addons":[…],"sims":[…],"devices":[…],
//	  "subscriptions":[…],"paymentMethods":[…],"payments":[…],"portings":[…]}]}
//
// where every object is in its API representation with its id given
// ("object" and "createdAt" may be left out). Load parses it strictly,
// validates every object and every reference (to the file or to the
// database), and writes the whole file in one transaction: objects that
// already exist identically are left alone, so loading a file twice
// changes nothing, and an object that exists with other content fails the
// whole file.
package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/jsonv"
	"github.com/connectd/connectd/platform"
)

// MaxFileSize bounds a seed file.
const MaxFileSize = 32 << 20

// Result says what a Load did.
type Result struct {
	// Objects counts the projects, users and resources in the file.
	Objects int
	// Created counts those that did not exist yet and were written; 0
	// when the file was already loaded.
	Created int
}

// InvalidError lists every problem of a seed file that is malformed,
// invalid, or references what neither the file nor the database holds.
// Each problem's Field is a JSON path into the file, such as
// projects[0].plans[2].price.currency.
type InvalidError struct {
	Problems []connectd.FieldError
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		p := e.Problems[0]
		return "invalid seed file: " + where(p.Field) + p.Message
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid seed file: %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + where(p.Field) + p.Message)
	}
	return b.String()
}

func where(field string) string {
	if field == "" {
		return ""
	}
	return field + ": "
}

// ConflictError is a *connectd.SeedConflictError located in the file.
type ConflictError struct {
	Path string // the object's JSON path, such as projects[0].plans[1]
	Err  *connectd.SeedConflictError
}

func (e *ConflictError) Error() string {
	return e.Path + ": " + e.Err.Error() + "; nothing was written"
}

func (e *ConflictError) Unwrap() error { return e.Err }

// The file's shape. Each resource embeds its connectd type, which is also
// its API representation, and adds the optional "object" member.
type fileIn struct {
	Projects []*projectIn `json:"projects"`
}

type projectIn struct {
	Object         string             `json:"object"`
	ID             string             `json:"id"`
	Name           string             `json:"name"`
	Settings       *settingsIn        `json:"settings"`
	CreatedAt      time.Time          `json:"createdAt"`
	Users          []*userIn          `json:"users"`
	Plans          []*planIn          `json:"plans"`
	Addons         []*addonIn         `json:"addons"`
	SIMs           []*simIn           `json:"sims"`
	Devices        []*deviceIn        `json:"devices"`
	Subscriptions  []*subscriptionIn  `json:"subscriptions"`
	PaymentMethods []*paymentMethodIn `json:"paymentMethods"`
	Payments       []*paymentIn       `json:"payments"`
	Portings       []*portingIn       `json:"portings"`
}

// settingsIn decodes over the defaults, so that keys the file leaves out
// keep connectd.DefaultProjectSettings values.
type settingsIn connectd.ProjectSettings

func (s *settingsIn) UnmarshalJSON(b []byte) error {
	d := connectd.DefaultProjectSettings()
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	*s = settingsIn(d)
	return nil
}

type userIn struct {
	Object string `json:"object"`
	connectd.User
}

type planIn struct {
	Object string `json:"object"`
	connectd.Plan
}

type addonIn struct {
	Object string `json:"object"`
	connectd.Addon
}

type simIn struct {
	Object string `json:"object"`
	connectd.SIM
}

type deviceIn struct {
	Object string `json:"object"`
	connectd.Device
}

type subscriptionIn struct {
	Object string `json:"object"`
	connectd.Subscription
}

type paymentMethodIn struct {
	Object string `json:"object"`
	connectd.PaymentMethod
}

type paymentIn struct {
	Object string `json:"object"`
	connectd.Payment
}

// portingIn takes the write-only accountPin, which the API representation
// never shows.
type portingIn struct {
	Object string `json:"object"`
	connectd.Porting
	AccountPin *string `json:"accountPin"`
}

// Store is what loading a seed file needs of a database: what the built-in
// platform needs to check references and make records, and ApplySeed to
// write the whole file.
type Store interface {
	platform.Store
	ApplySeed(ctx context.Context, b connectd.SeedBatch) (created int, err error)
}

// Load reads a seed file from r and writes it to st in one transaction.
// pf turns typed resources into records and its clock (pf.Now, the one the
// server injects) dates them; nil means platform.New(st).
// Errors: *InvalidError for a file that cannot be loaded as it is,
// *ConflictError when an object exists with other content (nothing is
// written then), anything else for database faults.
func Load(ctx context.Context, st Store, pf *platform.Builtin, r io.Reader) (Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return Result{}, fmt.Errorf("read seed file: %w", err)
	}
	return load(ctx, st, pf, data, false)
}

// load is Load of data read already; keepExisting leaves objects that exist
// with other content as they are (connectd.SeedBatch.KeepExisting).
func load(ctx context.Context, st Store, pf *platform.Builtin, data []byte, keepExisting bool) (Result, error) {
	if len(data) > MaxFileSize {
		return Result{}, &InvalidError{Problems: []connectd.FieldError{{Code: "tooLarge", Message: fmt.Sprintf("the file is larger than %d MiB", MaxFileSize>>20)}}}
	}
	f, err := parse(data)
	if err != nil {
		return Result{}, err
	}
	if pf == nil {
		pf = platform.New(st)
	}
	l := &loader{ctx: ctx, st: st, pf: pf, now: pf.Now().UTC().Truncate(time.Millisecond), paths: map[string]string{}}
	batch, objects, err := l.build(f)
	if err != nil {
		return Result{}, err
	}
	batch.KeepExisting = keepExisting
	created, err := st.ApplySeed(ctx, batch)
	var ce *connectd.SeedConflictError
	if errors.As(err, &ce) {
		return Result{Objects: objects}, &ConflictError{Path: l.paths[ce.Kind+" "+ce.ID], Err: ce}
	}
	if err != nil {
		return Result{Objects: objects}, fmt.Errorf("apply seed: %w", err)
	}
	return Result{Objects: objects, Created: created}, nil
}

// parse checks the file's JSON strictly (syntax, duplicate keys, unknown
// members and types, each named by its path) and decodes it.
func parse(data []byte) (*fileIn, error) {
	v, err := jsonv.Parse(data)
	if err != nil {
		var se *jsonv.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return nil, &InvalidError{Problems: []connectd.FieldError{{Code: "invalidJson",
				Message: fmt.Sprintf("not valid JSON at line %d, column %d: %s", line, col, se.Msg)}}}
		}
		return nil, err
	}
	var ps problems
	if v.Kind != jsonv.Object {
		ps.add("", "invalidType", "the file must hold one JSON object {\"projects\":[…]}, not %s", v.Kind)
		return nil, ps.err()
	}
	checkShape("", v, reflect.TypeFor[fileIn](), &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	var f fileIn
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil {
		// checkShape lets through only what decodes; say so if not.
		return nil, &InvalidError{Problems: []connectd.FieldError{{Code: "invalid", Message: err.Error()}}}
	}
	return &f, nil
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// problems collects field problems by JSON path.
type problems []connectd.FieldError

func (ps *problems) add(path, code, format string, args ...any) {
	*ps = append(*ps, connectd.FieldError{Field: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &InvalidError{Problems: ps}
}
