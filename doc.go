// Package connectd holds the domain of connectd, a self-hostable Connect
// Sessions service: sessions, intents, users, projects and API keys, the
// platform resources and the Platform interface intents act on, the errors
// every layer speaks, and the Store interface that the storage backends
// (store/sqlite, store/postgres) implement.
//
// The package imports nothing of the project (tests/layering checks it).
// Every state change goes through package service; packages api and portal
// render it over HTTP; package server wires them once. ARCHITECTURE.md has
// the layers and where new things go.
package connectd
