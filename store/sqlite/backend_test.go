package sqlite_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/sqlite"
)

// countRows counts the rows of table, those whose column is value when
// column is set.
func countRows(tb testing.TB, s connectd.Store, table, column, value string) int {
	tb.Helper()
	_, r := sqlite.DBs(s.(*sqlite.Store))
	q, args := `SELECT count(*) FROM `+table, []any{}
	if column != "" {
		q, args = q+` WHERE `+column+` = ?`, []any{value}
	}
	var n int
	if err := r.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// sessionEnd reads replay_count and ended_at (milliseconds) of session id.
func sessionEnd(tb testing.TB, s connectd.Store, id string) (int, time.Time) {
	tb.Helper()
	_, r := sqlite.DBs(s.(*sqlite.Store))
	var replays int
	var endedAt int64
	if err := r.QueryRowContext(context.Background(), `SELECT replay_count, ended_at FROM connect_sessions WHERE id = ?`, id).Scan(&replays, &endedAt); err != nil {
		tb.Fatal(err)
	}
	return replays, time.UnixMilli(endedAt).UTC()
}

// bulkLoad inserts sessions in one transaction of the writer, a hundred
// rows a statement.
func bulkLoad(tb testing.TB, s connectd.Store, sessions []*connectd.Session) {
	tb.Helper()
	ctx := context.Background()
	w, _ := sqlite.DBs(s.(*sqlite.Store))
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	const perStmt = 100
	for len(sessions) > 0 {
		chunk := sessions[:min(perStmt, len(sessions))]
		sessions = sessions[len(chunk):]
		q := `INSERT INTO connect_sessions (id, project_id, intent, user_id, status, token_hash, created_at, expires_at, updated_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?), `, len(chunk)), ", ")
		args := make([]any, 0, 9*len(chunk))
		for _, cs := range chunk {
			intent, _ := json.Marshal(cs.Intent)
			var user, hash any
			if cs.UserID != nil {
				user = *cs.UserID
			}
			if cs.TokenHash != nil {
				hash = cs.TokenHash
			}
			args = append(args, cs.ID, cs.ProjectID, string(intent), user, string(cs.StoredStatus), hash,
				cs.CreatedAt.UnixMilli(), cs.ExpiresAt.UnixMilli(), cs.UpdatedAt.UnixMilli())
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// listPlans explains the first-page queries of ListSessions (list.go), with
// and without a user, and their More queries past a cursor.
func listPlans(tb testing.TB, s connectd.Store, projectID, userID string) []string {
	tb.Helper()
	_, r := sqlite.DBs(s.(*sqlite.Store))
	queries := []struct {
		q    string
		args []any
	}{
		{`SELECT * FROM connect_sessions WHERE project_id = ? ORDER BY id DESC LIMIT ?`, []any{projectID, 11}},
		{`SELECT * FROM connect_sessions WHERE project_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?`, []any{projectID, userID, 11}},
		{`SELECT * FROM connect_sessions WHERE project_id = ? AND user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, []any{projectID, userID, "csn_z", 11}},
		{`SELECT * FROM connect_sessions WHERE project_id = ? AND id > ? ORDER BY id ASC LIMIT ?`, []any{projectID, "csn_0", 11}},
		{`SELECT EXISTS (SELECT 1 FROM connect_sessions WHERE project_id = ? AND user_id = ? AND id > ?)`, []any{projectID, userID, "csn_0"}},
	}
	var plans []string
	for _, q := range queries {
		rows, err := r.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q.q, q.args...)
		if err != nil {
			tb.Fatal(err)
		}
		var b strings.Builder
		b.WriteString(q.q + "\n")
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				tb.Fatal(err)
			}
			b.WriteString("  " + detail + "\n")
		}
		rows.Close()
		plans = append(plans, b.String())
	}
	return plans
}
