package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/connectd/connectd/server"
)

// checkPprofAddr accepts "" (pprof off) or a loopback host:port: profiles
// show the process's memory and code, so they are never served beyond the
// machine. Reach them remotely through an SSH tunnel.
func checkPprofAddr(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr %q: want a loopback host:port such as 127.0.0.1:6060: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof-addr %q: pprof listens on loopback only (127.0.0.1, ::1 or localhost); use an SSH tunnel to reach it from elsewhere", addr)
	}
	return nil
}

// pprofMux serves net/http/pprof on a mux of its own, never
// http.DefaultServeMux.
func pprofMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index) // and every named profile: /debug/pprof/heap, ...
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}

// startPprof serves pprof on addr (checked by checkPprofAddr) until the
// returned stop is called. An empty addr serves nothing.
func startPprof(addr string, logger *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: listen on %s: %w", addr, err)
	}
	// No write timeout: a CPU profile or trace streams for as long as asked
	// (?seconds=N). Only local clients reach this listener.
	srv := &http.Server{Handler: pprofMux(), ReadHeaderTimeout: server.DefaultReadHeaderTimeout, IdleTimeout: server.IdleTimeout,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	logger.Info("pprof serving", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close() // a profile still streaming
		}
	}, nil
}
