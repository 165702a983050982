package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd"
)

// listQuery describes one page of a list ordered by id, newest (greatest id)
// first. IDs sort by creation time, and every id column compares bytewise
// (COLLATE "C").
type listQuery struct {
	columns string // the columns selected, in scan order
	table   string
	where   string // conditions on $1..$len(args)
	args    []any
}

// errBothCursors refuses a page asked both after and before a cursor.
var errBothCursors = errors.New("postgres: list: After and Before are mutually exclusive")

// pageLimit applies the defaults and bounds of connectd to a requested limit.
func pageLimit(n int) int {
	switch {
	case n <= 0:
		return connectd.DefaultListLimit
	case n > connectd.MaxListLimit:
		return connectd.MaxListLimit
	}
	return n
}

// listPage fetches one page of q as ListParams p select it:
//
//   - no cursor: the newest limit items; MoreAfter if more follow.
//   - After c: the newest limit items older than c; MoreAfter if more
//     follow, MoreBefore if an item at or newer than c precedes them.
//   - Before c: the oldest limit items newer than c, returned newest first;
//     MoreBefore if more precede them, MoreAfter if an item at or older than
//     c follows them.
//
// The page query asks for limit+1 items to learn whether more lie in its
// direction; with a cursor, an EXISTS query in the same round trip (a batch)
// tells whether anything lies in the other.
func listPage[T any](ctx context.Context, s *Store, q listQuery, p connectd.ListParams, scan func(pgx.Row) (T, error)) (connectd.Page[T], error) {
	var page connectd.Page[T]
	if p.After != "" && p.Before != "" {
		return page, errBothCursors
	}
	limit := pageLimit(p.Limit)
	args := append([]any(nil), q.args...)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := q.where
	if where == "" {
		where = "TRUE"
	}

	var pageSQL, otherSQL string
	var otherArgs []any
	switch {
	case p.After != "":
		c := arg(p.After)
		otherSQL = `SELECT EXISTS (SELECT 1 FROM ` + q.table + ` WHERE ` + where + ` AND id >= ` + c + `)`
		otherArgs = append([]any(nil), args...)
		pageSQL = `SELECT ` + q.columns + ` FROM ` + q.table + ` WHERE ` + where + ` AND id < ` + c +
			` ORDER BY id DESC LIMIT ` + arg(limit+1)
	case p.Before != "":
		c := arg(p.Before)
		otherSQL = `SELECT EXISTS (SELECT 1 FROM ` + q.table + ` WHERE ` + where + ` AND id <= ` + c + `)`
		otherArgs = append([]any(nil), args...)
		pageSQL = `SELECT ` + q.columns + ` FROM ` + q.table + ` WHERE ` + where + ` AND id > ` + c +
			` ORDER BY id ASC LIMIT ` + arg(limit+1)
	default:
		pageSQL = `SELECT ` + q.columns + ` FROM ` + q.table + ` WHERE ` + where +
			` ORDER BY id DESC LIMIT ` + arg(limit+1)
	}

	var items []T
	collect := func(rows pgx.Rows) error {
		var err error
		items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
		return err
	}
	var other bool
	found := true
	if otherSQL == "" {
		rows, err := s.pool.Query(ctx, pageSQL, args...)
		if err != nil {
			return page, err
		}
		if err := collect(rows); err != nil {
			return page, err
		}
	} else {
		b := &pgx.Batch{}
		b.Queue(pageSQL, args...).Query(collect)
		b.Queue(otherSQL, otherArgs...).QueryRow(func(r pgx.Row) error { return r.Scan(&other) })
		// The cursor must be an object of the project in this table (any
		// status: a filter's match may change between pages); q.args
		// starts with the project (issue 10.8). Same round trip.
		b.Queue(`SELECT EXISTS (SELECT 1 FROM `+q.table+` WHERE project_id = $1 AND id = $2)`, q.args[0], p.After+p.Before).
			QueryRow(func(r pgx.Row) error { return r.Scan(&found) })
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return page, err
		}
		if !found {
			return page, connectd.ErrCursorNotFound
		}
	}

	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if p.Before != "" {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
		page.MoreBefore, page.MoreAfter = more, other
	} else {
		page.MoreAfter, page.MoreBefore = more, other
	}
	if items == nil {
		items = []T{}
	}
	page.Items = items
	return page, nil
}
