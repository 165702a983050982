package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/buildinfo"
	"github.com/connectd/connectd/portal"
	"github.com/connectd/connectd/ratelimit"
	"github.com/connectd/connectd/seed"
	"github.com/connectd/connectd/server"
	"github.com/connectd/connectd/service"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("serve", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (CONNECTD_ADDR)")
	db := fs.String("db", defaultDB, "database: sqlite:PATH or a postgres:// URL (CONNECTD_DB)")
	publicURL := fs.String("public-url", "", "base URL of session urls, as users reach this server (CONNECTD_PUBLIC_URL; default http://ADDR)")
	demo := fs.Bool("demo", false, "load the demo project and print an API key and a curl line (CONNECTD_DEMO)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error (CONNECTD_LOG_LEVEL)")
	smtpAddr := fs.String("smtp-addr", "", "SMTP server host:port for hosted-login codes; empty prints codes to the log (development) (CONNECTD_SMTP_ADDR)")
	smtpFrom := fs.String("smtp-from", "", "sender address of hosted-login emails (CONNECTD_SMTP_FROM)")
	smtpUser := fs.String("smtp-username", "", "SMTP user name (CONNECTD_SMTP_USERNAME)")
	smtpPass := fs.String("smtp-password", "", "SMTP password; prefer the CONNECTD_SMTP_PASSWORD variable to a flag")
	drainDelay := fs.Duration("drain-delay", 0, "on SIGTERM, how long to answer not-ready before closing the listener (CONNECTD_DRAIN_DELAY)")
	// Rate limits are per process: N instances allow up to N times these.
	apiRate := fs.Float64("api-rate", 50, "API requests per second per API key; 0 turns the limit off (CONNECTD_API_RATE)")
	apiBurst := fs.Int("api-burst", 100, "API requests one key may send at once (CONNECTD_API_BURST)")
	portalRate := fs.Float64("portal-rate", 5, "portal entry and login requests per second per client address; 0 turns the limit off (CONNECTD_PORTAL_RATE)")
	portalBurst := fs.Int("portal-burst", 20, "portal entry and login requests one address may send at once (CONNECTD_PORTAL_BURST)")
	authFailRate := fs.Float64("auth-fail-rate", 10, "API requests with an invalid API key per second per client address; past the burst, that address gets 429 for keys not seen valid, without a database lookup; 0 turns the limit off (CONNECTD_AUTH_FAIL_RATE)")
	authFailBurst := fs.Int("auth-fail-burst", 20, "API requests with an invalid API key one address may send at once (CONNECTD_AUTH_FAIL_BURST)")
	trustProxy := fs.Bool("trust-proxy-headers", false, "take the client address of portal rate limits and of the API's failed-authentication limit from the last X-Forwarded-For entry; only behind a proxy that sets it (CONNECTD_TRUST_PROXY_HEADERS)")
	headerTimeout := fs.Duration("read-header-timeout", server.DefaultReadHeaderTimeout, "how long a client may take to send a request's headers before its connection is closed; meant for tests (CONNECTD_READ_HEADER_TIMEOUT)")
	lookupTTL := fs.Duration("lookup-cache-ttl", service.DefaultLookupCacheTTL, "how long API keys and projects read from the database are reused; a key deleted or a project changed in the database takes effect within it on every instance; 0 turns the cache off (CONNECTD_LOOKUP_CACHE_TTL)")
	pprofAddr := fs.String("pprof-addr", "", "serve net/http/pprof on this loopback address, such as 127.0.0.1:6060; empty: off (CONNECTD_PPROF_ADDR)")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if err := checkPprofAddr(*pprofAddr); err != nil {
		return err
	}
	if *apiRate < 0 || *portalRate < 0 || *authFailRate < 0 || *apiBurst < 1 || *portalBurst < 1 || *authFailBurst < 1 {
		return fmt.Errorf("--api-rate, --portal-rate and --auth-fail-rate must be 0 or more, --api-burst, --portal-burst and --auth-fail-burst 1 or more")
	}
	if *lookupTTL < 0 || *lookupTTL > time.Minute {
		return fmt.Errorf("--lookup-cache-ttl must be between 0 and 1m")
	}
	if *headerTimeout <= 0 || *headerTimeout > server.ReadTimeout {
		return fmt.Errorf("--read-header-timeout must be above 0 and at most %s", server.ReadTimeout)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	if *publicURL == "" {
		*publicURL = "http://" + ln.Addr().String()
	}
	if err := checkPublicURL(*publicURL); err != nil {
		return err
	}

	var mailer portal.Mailer // nil: codes go to the log (development)
	if *smtpAddr != "" {
		if *smtpFrom == "" {
			return fmt.Errorf("--smtp-from is required with --smtp-addr")
		}
		mailer = portal.SMTPMailer{Addr: *smtpAddr, From: *smtpFrom, Username: *smtpUser, Password: *smtpPass}
	}

	st, err := openMigrated(ctx, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := server.New(server.Config{
		Store:             st,
		PublicURL:         *publicURL,
		Logger:            logger,
		Mailer:            mailer,
		APILimit:          ratelimit.Config{Rate: *apiRate, Burst: *apiBurst},
		PortalLimit:       ratelimit.Config{Rate: *portalRate, Burst: *portalBurst},
		AuthFailLimit:     ratelimit.Config{Rate: *authFailRate, Burst: *authFailBurst},
		TrustProxyHeaders: *trustProxy,
		LookupCacheTTL:    *lookupTTL,
		ReadHeaderTimeout: *headerTimeout,
		DrainDelay:        *drainDelay,
	})
	if err != nil {
		return err
	}

	if *demo {
		if err := startDemo(ctx, srv, *publicURL, stdout); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}

	stopPprof, err := startPprof(*pprofAddr, logger)
	if err != nil {
		return err
	}
	defer stopPprof()
	// The listener is open: a client that reads this line can connect.
	build := buildinfo.Read()
	logger.Info("serving", "addr", ln.Addr().String(), "public_url", *publicURL, "db", redactDSN(*db),
		"version", build.Version, "commit", build.Commit)
	return srv.Run(ctx, ln)
}

func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--public-url must be an http(s) URL such as https://connect.example.com, without query or user-info")
	}
	return nil
}

// redactDSN drops the password of a postgres URL, for the log.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if strings.HasPrefix(dsn, "sqlite:") {
			return dsn
		}
		return "(database url)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	u.RawQuery = ""
	return u.String()
}

// startDemo loads the demo project and prints a fresh API key and a curl
// line that creates a session. A new key is made on every start, since keys
// are stored only as hashes and the previous one cannot be shown again.
// The curl line stays the last line that starts with "curl ".
func startDemo(ctx context.Context, srv *server.Server, publicURL string, stdout io.Writer) error {
	if _, err := seed.Demo(ctx, srv.Service.Store, srv.Platform); err != nil {
		return err
	}
	key, err := srv.Service.CreateAPIKey(ctx, seed.DemoProjectID)
	if err != nil {
		return err
	}
	// The round trip ends on this machine, offline too: the portal sends the
	// browser back to a local page that shows what an app would see. A
	// public URL a callbackUrl may not use (plain http off loopback) falls
	// back to a page on the web.
	srv.Portal.RegisterDemoCallback(srv.API.Mux(), seed.DemoProjectID)
	callback := publicURL + "/demo/callback"
	if connectd.CheckCallbackURL("callbackUrl", callback, nil) != nil {
		callback = "https://example.com"
	}
	fmt.Fprintf(stdout, `
connectd demo is ready.
  project: %s
  user:    %s (%s), with subscriptions, a card, a payment to confirm and portings
  user:    %s (%s), with nothing yet
  API key: %s

For the README's sessions for every intent:
  export BASE='%s' KEY='%s'

Create a Connect Session:

curl -sS -X POST '%s/projects/%s/connectSessions' -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{"callbackUrl":"%s","intent":{"type":"updateUserFullName"},"user":"%s"}'

Open the "url" it answers in a browser; at the end the portal sends you back to %s.

`, seed.DemoProjectID, seed.DemoUserID, seed.DemoUserEmail, seed.DemoOtherUserID, seed.DemoOtherUserEmail, key,
		publicURL, key, publicURL, seed.DemoProjectID, key, callback, seed.DemoUserID, callback)
	return nil
}
