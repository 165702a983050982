// Package connectd holds the domain of connectd, a self-hostable Connect
// Sessions service: sessions, intents, users, projects and API keys, the
// errors every layer speaks, and the Store interface that the storage
// backends (store/sqlite, store/postgres) implement.
//
// The package has no dependencies beyond the standard library. Business rules
// that need storage live in package service; wire handling lives in package
// api.
package connectd
