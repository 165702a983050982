package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/connectd/connectd"
)

// limit returns the page size p asks for, within bounds.
func limit(p connectd.ListParams) int {
	switch {
	case p.Limit <= 0:
		return connectd.DefaultListLimit
	case p.Limit > connectd.MaxListLimit:
		return connectd.MaxListLimit
	}
	return p.Limit
}

// listPage reads one page, newest (highest id) first, of the rows of from
// (a table and a WHERE clause, whose arguments are args). IDs are
// time-ordered, so id order is creation order.
func listPage[T any](ctx context.Context, db *sql.DB, op, cols, from string, args []any, p connectd.ListParams,
	scan func(interface{ Scan(...any) error }) (T, error), idOf func(T) string) (connectd.Page[T], error) {
	var page connectd.Page[T]
	if p.After != "" && p.Before != "" {
		return page, errors.New("sqlite: " + op + ": After and Before are mutually exclusive")
	}
	n := limit(p)
	q := `SELECT ` + cols + ` FROM ` + from
	a := slices.Clone(args)
	switch {
	case p.Before != "":
		// The n+1 oldest rows newer than the cursor, reversed below.
		q += ` AND id > ? ORDER BY id ASC LIMIT ?`
		a = append(a, p.Before, n+1)
	case p.After != "":
		q += ` AND id < ? ORDER BY id DESC LIMIT ?`
		a = append(a, p.After, n+1)
	default:
		q += ` ORDER BY id DESC LIMIT ?`
		a = append(a, n+1)
	}
	// One read transaction, so that the page and its More flags come from
	// one snapshot.
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return page, mapErr(op, err)
	}
	defer tx.Rollback()
	if c := p.After + p.Before; c != "" {
		// The cursor must be an object of the project in this table (any
		// status: a filter's match may change between pages). from starts
		// with the table and args with the project (issue 10.8).
		table, _, _ := strings.Cut(from, " ")
		var found bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE project_id = ? AND id = ?)`, args[0], c).Scan(&found)
		if err != nil {
			return page, mapErr(op, err)
		}
		if !found {
			return page, connectd.ErrCursorNotFound
		}
	}
	rows, err := tx.QueryContext(ctx, q, a...)
	if err != nil {
		return page, mapErr(op, err)
	}
	items := make([]T, 0, n+1)
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			rows.Close()
			return page, mapErr(op, err)
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, mapErr(op, err)
	}
	more := len(items) > n
	if more {
		items = items[:n]
	}
	exists := func(cond string, id string) (bool, error) {
		var ok bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+from+` AND `+cond+`)`, append(slices.Clone(args), id)...).Scan(&ok)
		if err != nil {
			return false, mapErr(op, err)
		}
		return ok, nil
	}
	switch {
	case p.Before != "":
		slices.Reverse(items)
		page.MoreBefore = more
		// Older rows follow the last item, or the cursor when the page is empty.
		if len(items) > 0 {
			page.MoreAfter, err = exists(`id < ?`, idOf(items[len(items)-1]))
		} else {
			page.MoreAfter, err = exists(`id <= ?`, p.Before)
		}
	case p.After != "":
		page.MoreAfter = more
		if len(items) > 0 {
			page.MoreBefore, err = exists(`id > ?`, idOf(items[0]))
		} else {
			page.MoreBefore, err = exists(`id >= ?`, p.After)
		}
	default:
		page.MoreAfter = more
	}
	if err != nil {
		return page, err
	}
	page.Items = items
	return page, nil
}
