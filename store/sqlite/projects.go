package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/connectd/connectd"
)

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (s *Store) CreateProject(ctx context.Context, p *connectd.Project) error {
	settings, err := marshal(p.Settings)
	if err != nil {
		return fmt.Errorf("sqlite: create project: settings: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO projects (id, name, settings, created_at) VALUES (?, ?, ?, ?)`,
		p.ID, p.Name, settings, ms(p.CreatedAt))
	return mapErr("create project", err)
}

const projectCols = `id, name, settings, created_at`

func scanProject(sc interface{ Scan(...any) error }) (*connectd.Project, error) {
	var p connectd.Project
	var settings string
	var created int64
	if err := sc.Scan(&p.ID, &p.Name, &settings, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &p.Settings); err != nil {
		return nil, fmt.Errorf("project %s settings: %w", p.ID, err)
	}
	p.CreatedAt = fromMS(created)
	return &p, nil
}

func (s *Store) GetProject(ctx context.Context, id string) (*connectd.Project, error) {
	p, err := scanProject(s.queryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, id))
	if err != nil {
		return nil, mapErr("get project", err)
	}
	return p, nil
}

// ListProjects returns every project, by ID.
func (s *Store) ListProjects(ctx context.Context) ([]*connectd.Project, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+projectCols+` FROM projects ORDER BY id`)
	if err != nil {
		return nil, mapErr("list projects", err)
	}
	defer rows.Close()
	ps := []*connectd.Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, mapErr("list projects", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr("list projects", err)
	}
	return ps, nil
}

func (s *Store) CreateAPIKey(ctx context.Context, k *connectd.APIKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO api_keys (id, project_id, secret_hash, created_at) VALUES (?, ?, ?, ?)`,
		k.ID, k.ProjectID, blob(k.SecretHash), ms(k.CreatedAt))
	return mapErr("create api key", err)
}

func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*connectd.APIKey, error) {
	var k connectd.APIKey
	var created int64
	err := s.queryRow(ctx, `SELECT id, project_id, secret_hash, created_at FROM api_keys WHERE secret_hash = ?`, blob(hash)).
		Scan(&k.ID, &k.ProjectID, &k.SecretHash, &created)
	if err != nil {
		return nil, mapErr("get api key", err)
	}
	k.CreatedAt = fromMS(created)
	return &k, nil
}
