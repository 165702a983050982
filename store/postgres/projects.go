package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd"
)

const (
	projectColumns = `id, name, settings, created_at`

	sqlCreateProject = `INSERT INTO projects (` + projectColumns + `) VALUES ($1, $2, $3, $4)`
	sqlGetProject    = `SELECT ` + projectColumns + ` FROM projects WHERE id = $1`
	sqlListProjects  = `SELECT ` + projectColumns + ` FROM projects ORDER BY id`

	apiKeyColumns = `id, project_id, secret_hash, created_at`

	sqlCreateAPIKey    = `INSERT INTO api_keys (` + apiKeyColumns + `) VALUES ($1, $2, $3, $4)`
	sqlGetAPIKeyByHash = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE secret_hash = $1`
)

// CreateProject inserts p; ErrConflict if its ID is taken.
func (s *Store) CreateProject(ctx context.Context, p *connectd.Project) error {
	settings, err := json.Marshal(p.Settings)
	if err != nil {
		return fmt.Errorf("postgres: create project: settings: %w", err)
	}
	_, err = s.pool.Exec(ctx, sqlCreateProject, p.ID, p.Name, string(settings), ms(p.CreatedAt))
	return mapErr("create project", err)
}

// GetProject returns the project id.
func (s *Store) GetProject(ctx context.Context, id string) (*connectd.Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, sqlGetProject, id))
	if err != nil {
		return nil, mapErr("get project", err)
	}
	return p, nil
}

// ListProjects returns every project, by ID.
func (s *Store) ListProjects(ctx context.Context) ([]*connectd.Project, error) {
	rows, err := s.pool.Query(ctx, sqlListProjects)
	if err != nil {
		return nil, mapErr("list projects", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*connectd.Project, error) { return scanProject(r) })
	if err != nil {
		return nil, mapErr("list projects", err)
	}
	return ps, nil
}

func scanProject(row pgx.Row) (*connectd.Project, error) {
	var p connectd.Project
	var settings []byte
	if err := row.Scan(&p.ID, &p.Name, &settings, &p.CreatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(settings, &p.Settings); err != nil {
		return nil, fmt.Errorf("project settings: %w", err)
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return &p, nil
}

// CreateAPIKey inserts k. ErrNotFound if its project does not exist,
// ErrConflict if its ID or hash is taken.
func (s *Store) CreateAPIKey(ctx context.Context, k *connectd.APIKey) error {
	_, err := s.pool.Exec(ctx, sqlCreateAPIKey, k.ID, k.ProjectID, k.SecretHash, ms(k.CreatedAt))
	return mapErr("create api key", err)
}

// GetAPIKeyByHash returns the key whose secret hashes to hash.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*connectd.APIKey, error) {
	var k connectd.APIKey
	err := s.pool.QueryRow(ctx, sqlGetAPIKeyByHash, hash).Scan(&k.ID, &k.ProjectID, &k.SecretHash, &k.CreatedAt)
	if err != nil {
		return nil, mapErr("get api key", err)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	return &k, nil
}
