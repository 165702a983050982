package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/connectd/connectd/server"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

func TestNewNeedsAStore(t *testing.T) {
	if _, err := server.New(server.Config{}); err == nil {
		t.Fatal("New without a store: no error")
	}
}

// TestOneClock: the clock of the Config is the one service, platform and
// portal read.
func TestOneClock(t *testing.T) {
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	srv, err := server.New(server.Config{Store: sqlitetest.New(t), Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	for name, now := range map[string]func() time.Time{"service": srv.Service.Now, "platform": srv.Platform.Now, "portal (through the service)": srv.Service.Clock} {
		if got := now(); !got.Equal(at) {
			t.Errorf("%s clock: %v, want %v", name, got, at)
		}
	}
}

// TestRunStopsCleanly: Run serves until its context ends, then drains and
// returns nil.
func TestRunStopsCleanly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: sqlitetest.New(t), PublicURL: "http://" + ln.Addr().String(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %d, want 200", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v, want nil after the context ended", err)
		}
	case <-time.After(server.ShutdownTimeout):
		t.Fatal("Run did not return after the context ended")
	}
}
