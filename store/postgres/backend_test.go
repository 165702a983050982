package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/postgres"
)

// countRows counts the rows of table, those whose column is value when
// column is set.
func countRows(tb testing.TB, s connectd.Store, table, column, value string) int {
	tb.Helper()
	q, args := `SELECT count(*) FROM `+table, []any{}
	if column != "" {
		q, args = q+` WHERE `+column+` = $1`, []any{value}
	}
	var n int
	if err := s.(*postgres.Store).Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// sessionEnd reads replay_count and ended_at of session id.
func sessionEnd(tb testing.TB, s connectd.Store, id string) (int, time.Time) {
	tb.Helper()
	var replays int
	var endedAt time.Time
	if err := s.(*postgres.Store).Pool().QueryRow(context.Background(), `SELECT replay_count, ended_at FROM connect_sessions WHERE id = $1`, id).Scan(&replays, &endedAt); err != nil {
		tb.Fatal(err)
	}
	return replays, endedAt
}

// bulkLoad copies sessions in (COPY, one transaction), then analyzes the
// table as autovacuum would.
func bulkLoad(tb testing.TB, s connectd.Store, sessions []*connectd.Session) {
	tb.Helper()
	ctx := context.Background()
	pool := s.(*postgres.Store).Pool()
	rows := make([][]any, len(sessions))
	for i, cs := range sessions {
		intent, _ := json.Marshal(cs.Intent)
		rows[i] = []any{cs.ID, cs.ProjectID, string(intent), cs.UserID, string(cs.StoredStatus), cs.TokenHash,
			cs.CreatedAt, cs.ExpiresAt, cs.UpdatedAt}
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"connect_sessions"},
		[]string{"id", "project_id", "intent", "user_id", "status", "token_hash", "created_at", "expires_at", "updated_at"},
		pgx.CopyFromRows(rows)); err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE connect_sessions`); err != nil {
		tb.Fatal(err)
	}
}

// listPlans explains the first-page queries of ListSessions (list.go), with
// and without a user, and a page past a cursor with its More query.
func listPlans(tb testing.TB, s connectd.Store, projectID, userID string) []string {
	tb.Helper()
	pool := s.(*postgres.Store).Pool()
	queries := []struct {
		q    string
		args []any
	}{
		{`SELECT * FROM connect_sessions WHERE project_id = $1 ORDER BY id DESC LIMIT $2`, []any{projectID, 11}},
		{`SELECT * FROM connect_sessions WHERE project_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3`, []any{projectID, userID, 11}},
		{`SELECT * FROM connect_sessions WHERE project_id = $1 AND user_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4`, []any{projectID, userID, "csn_z", 11}},
		{`SELECT * FROM connect_sessions WHERE project_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3`, []any{projectID, "csn_0", 11}},
		{`SELECT EXISTS (SELECT 1 FROM connect_sessions WHERE project_id = $1 AND user_id = $2 AND id > $3)`, []any{projectID, userID, "csn_0"}},
	}
	var plans []string
	for _, q := range queries {
		rows, err := pool.Query(context.Background(), `EXPLAIN `+q.q, q.args...)
		if err != nil {
			tb.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			tb.Fatal(err)
		}
		plans = append(plans, q.q+"\n  "+strings.Join(lines, "\n  "))
	}
	return plans
}
