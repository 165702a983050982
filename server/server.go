// Package server assembles a connectd server from its parts: service,
// platform, API, portal, rate limits, metrics and the HTTP server with its
// timeouts. It is the one place that wiring happens: cmd/connectd serve
// turns flags into a Config and internal/apitest builds every test server
// through the same New, so a test cannot pass on a server that production
// never builds.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/metrics"
	"github.com/connectd/connectd/platform"
	"github.com/connectd/connectd/portal"
	"github.com/connectd/connectd/ratelimit"
	"github.com/connectd/connectd/service"
)

// HTTP server limits: slow clients cannot pin connections.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	ReadTimeout              = 15 * time.Second
	WriteTimeout             = 30 * time.Second
	IdleTimeout              = 60 * time.Second
	MaxHeaderBytes           = 16 << 10
	// ShutdownTimeout bounds how long Run waits for in-flight requests.
	ShutdownTimeout = 30 * time.Second
)

// Config is everything a server is built from.
type Config struct {
	// Store is migrated; the caller opens and closes it.
	Store connectd.Store
	// PublicURL is the base of session urls, as users reach this server.
	PublicURL string
	// Logger receives every log line; nil: slog.Default().
	Logger *slog.Logger
	// Now is the one clock of the server: service, platform and portal all
	// read it. nil: time.Now.
	Now func() time.Time
	// Mailer sends hosted-login codes; nil: portal.LogMailer, which logs them.
	Mailer portal.Mailer
	// APILimit is per API key, PortalLimit per client address; a Rate of 0
	// or less turns the limit off.
	APILimit, PortalLimit ratelimit.Config
	// AuthFailLimit is per client address and counts only requests whose
	// API key fails (api.Server.AuthFailLimiter); a Rate of 0 or less turns
	// it off.
	AuthFailLimit ratelimit.Config
	// TrustProxyHeaders: see portal.Portal.TrustProxyHeaders; it applies to
	// the API's failed-authentication limit too.
	TrustProxyHeaders bool
	// LookupCacheTTL is how long API keys and projects are reused; 0: off.
	LookupCacheTTL time.Duration
	// ReadHeaderTimeout: 0 means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// DrainDelay is how long Shutdown answers not-ready before it stops
	// accepting connections, so that load balancers notice.
	DrainDelay time.Duration
}

// Server is one assembled connectd server.
type Server struct {
	Service  *service.Service
	Platform *platform.Builtin
	API      *api.Server
	Portal   *portal.Portal

	http       *http.Server
	logger     *slog.Logger
	drainDelay time.Duration
}

// New assembles a server; it does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Mailer == nil {
		cfg.Mailer = portal.LogMailer{Logger: cfg.Logger}
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	svc := service.New(cfg.Store, cfg.PublicURL, cfg.Logger)
	svc.Now = cfg.Now
	pf := platform.New(cfg.Store)
	pf.Now = cfg.Now
	svc.Platform = pf
	svc.Metrics = metrics.New()
	svc.EnableLookupCache(cfg.LookupCacheTTL)
	if err := svc.Metrics.WatchPools(cfg.Store); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}

	apiServer := api.New(svc, cfg.Logger)
	apiServer.KeyLimiter = ratelimit.New(cfg.APILimit)
	apiServer.AuthFailLimiter = ratelimit.New(cfg.AuthFailLimit)
	apiServer.TrustProxyHeaders = cfg.TrustProxyHeaders
	pt := portal.New(svc, cfg.Mailer, cfg.Logger)
	pt.AddrLimiter = ratelimit.New(cfg.PortalLimit)
	pt.TrustProxyHeaders = cfg.TrustProxyHeaders
	pt.Register(apiServer.Mux())

	s := &Server{Service: svc, Platform: pf, API: apiServer, Portal: pt, logger: cfg.Logger, drainDelay: cfg.DrainDelay}
	s.http = &http.Server{
		Handler:           apiServer.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler is the whole HTTP handler: API, portal, probes and metrics.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Serve answers requests on ln until Shutdown or Close; then it returns
// http.ErrServerClosed. Requests outlive ctx: a SIGTERM drains them instead.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.http.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	return s.http.Serve(ln)
}

// Run serves on ln until ctx ends, then shuts down gracefully: readiness
// off, the drain delay, then in-flight requests finish (at most
// ShutdownTimeout). A clean stop returns nil.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.logger.Info("shutting down")
	s.drain(context.Background())
	// The drain delay is not part of the time in-flight requests get.
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.logger.Info("stopped")
	return nil
}

// Shutdown turns readiness off, lets load balancers notice for the drain
// delay, then stops accepting and waits for in-flight requests until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.drain(ctx)
	return s.http.Shutdown(ctx)
}

// drain turns readiness off and waits the drain delay (or until ctx ends).
func (s *Server) drain(ctx context.Context) {
	s.API.Drain()
	if s.drainDelay > 0 {
		select {
		case <-time.After(s.drainDelay):
		case <-ctx.Done():
		}
	}
}

// Close stops at once: listeners and connections are closed.
func (s *Server) Close() error { return s.http.Close() }
