package sqlite

import "database/sql"

// DBs exposes the writer and the reader pool to the tests.
func DBs(s *Store) (writer, reader *sql.DB) { return s.w, s.r }
