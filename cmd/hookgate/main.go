// Command hookgate is the webhook gateway. Subcommands (each with --help;
// the list and the help texts are in help.go):
//
//	hookgate serve   [--config config.yaml] [--role all|api|worker]
//	hookgate token   --tenant T --sub U --roles admin,publisher [--ttl 1h] [--console [--link-ttl 15m]]
//	hookgate receive --secret S --port P [--status 200] [--confirm]
//	hookgate crm     [--port 9100] [--hookgate http://localhost:8080]
//	hookgate bench   [--suite delivery|incoming|all|ratelimit|scaling] [--rate 1000] [--duration 10s]
//	hookgate version
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookgate/hookgate"
	"github.com/hookgate/hookgate/app"
	"github.com/hookgate/hookgate/auth"
	"github.com/hookgate/hookgate/config"
	"github.com/hookgate/hookgate/internal/receiver"
	"github.com/hookgate/hookgate/internal/standin"
	"github.com/hookgate/hookgate/internal/store"
	"github.com/hookgate/hookgate/plugins/sdk"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "hookgate:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// run runs the subcommand args[0]. A subcommand's --help is not an error:
// it prints the help to stdout and run returns nil.
func run(args []string, stdout, stderr io.Writer) error {
	err := runCommand(args, stdout, stderr)
	if errors.Is(err, errHelped) {
		return nil
	}
	return err
}

func runCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "token":
		return token(args[1:], stdout, stderr)
	case "receive":
		return receive(args[1:], stdout)
	case "crm":
		return crm(args[1:], stdout)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "plugin":
		return pluginCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		if err := parseFlags(newFlagSet("version"), args[1:], stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "hookgate", hookgate.Version)
		fmt.Fprintf(stdout, "plugin protocol %d (plugin SDK %s)\n", sdk.ProtocolVersion, sdk.Version)
		return nil
	case "help", "-h", "--help":
		if len(args) > 1 && args[0] == "help" {
			return runCommand([]string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n\n%s", args[0], usage)}
}

// loadConfig is config.Load for the subcommands: a missing file is reported
// with the path looked for and the ways to point hookgate at its settings,
// since the default "config.yaml" only exists inside the repository.
func loadConfig(path string) (config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		where := path
		if abs, aerr := filepath.Abs(path); aerr == nil {
			where = abs
		}
		return cfg, fmt.Errorf("configuration file %s not found (looked for %s): "+
			"pass --config with the path of your config.yaml, or --config \"\" to take every setting "+
			"from HOOKGATE_* environment variables (docs/configuration.md): %w", path, where, err)
	}
	return cfg, err
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve")
	cfgPath := fs.String("config", "config.yaml", "configuration file (empty: defaults and environment only)")
	role := fs.String("role", "", "all | api | worker (overrides server.role)")
	dev := fs.Bool("dev", false, "development mode: accept http:// and loopback receivers, listen on 127.0.0.1 only (make run uses it)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	// readConfig reads the file as at start, command-line flags over it; a
	// plugin reload (SIGHUP, POST /v1/plugins/reload) reads it again.
	readConfig := func() (config.Config, error) {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return cfg, err
		}
		if *role != "" {
			cfg.Server.Role = *role
			if err := cfg.Validate(); err != nil {
				return cfg, err
			}
		}
		if *dev {
			if err := cfg.Dev(); err != nil {
				return cfg, err
			}
		}
		return cfg, nil
	}
	cfg, err := readConfig()
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stderr)
	store.LogTo(logger)
	if !*dev {
		// In development mode the banner below says all of this at once.
		for _, w := range cfg.Warnings() {
			logger.Warn(w)
		}
	}
	a, err := app.New(cfg, logger)
	if err != nil {
		return err
	}
	a.ConfigSource = readConfig
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := a.Start(ctx, nil); err != nil {
		return err
	}
	stopHUP := reloadOnSIGHUP(ctx, a, logger)
	logger.Info("hookgate started", "version", hookgate.Version, "listen", a.Addr(), "role", cfg.Server.Role,
		"public_url", cfg.Server.PublicURL, "console", strings.TrimRight(cfg.Server.PublicURL, "/")+"/console/")
	if *dev {
		fmt.Fprintf(stderr, "\nDEVELOPMENT MODE (hookgate serve --dev): listening on %s only; http:// and loopback receivers (%s) are accepted.\n"+
			"Not for production: drop --dev there, and set your own secrets (docs/configuration.md).\n", a.Addr(), strings.Join(config.DevCIDRs, ", "))
		for _, w := range cfg.Warnings() {
			fmt.Fprintln(stderr, "  -", w)
		}
	}
	if cfg.Auth.HS256Secret == config.DevHS256Secret && cfg.Server.Role != "worker" {
		// Development only (the shipped secret, warned about above): hand the
		// newcomer a way in. Production tokens come from the CRM's issuer.
		if link, err := devConsoleLink(cfg); err != nil {
			logger.Warn("no console login link", "err", err)
		} else {
			fmt.Fprintf(stderr, "\nConsole (development secret; this link signs in once, as admin of tenant %q):\n  %s\nMore links: hookgate token --console --tenant %s\n\n", devTenant, link, devTenant)
		}
	}
	serveErr := a.Wait(ctx)
	stopHUP()
	logger.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout.D().String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.D())
	defer cancel()
	return errors.Join(serveErr, a.Shutdown(sctx))
}

// reloadOnSIGHUP reloads the plugins section at every SIGHUP until the
// returned function is called (one reload at a time; a SIGHUP during one is
// served after it).
func reloadOnSIGHUP(ctx context.Context, a *app.App, logger *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-hup:
				logger.Info("SIGHUP: reloading plugins")
				if _, err := a.ReloadPlugins(ctx, app.TriggerSIGHUP); err != nil {
					logger.Error("plugin reload failed", "error", err)
				}
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}

func token(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token")
	cfgPath := fs.String("config", "config.yaml", "configuration file")
	tenant := fs.String("tenant", "", "tenant id (required)")
	sub := fs.String("sub", "admin", "subject (user id)")
	roles := fs.String("roles", "admin,publisher", "comma-separated roles: admin, publisher, system, or token role values that auth.roles grants (outbound_webhooks)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token (with --console: of the console session)")
	consoleLink := fs.Bool("console", false, "print a one-time login link to the web console instead of the token (needs Redis and the admin role)")
	linkTTL := fs.Duration("link-ttl", 15*time.Minute, "with --console: how long the link can be used (once)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *tenant == "" {
		return usageError{"token: --tenant is required"}
	}
	if *linkTTL <= 0 {
		return usageError{"token: --link-ttl must be positive"}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rs = append(rs, r)
		}
	}
	admin := false
	for _, r := range rs {
		admin = admin || r == hookgate.RoleAdmin || slices.Contains(auth.Grants(cfg.Auth, r), hookgate.RoleAdmin)
	}
	if *consoleLink && !admin {
		return usageError{"token: --console needs the admin role in --roles"}
	}
	tok, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: *sub, Tenant: *tenant, Roles: rs}, *ttl)
	if err != nil {
		return err
	}
	if !*consoleLink {
		fmt.Fprintln(stdout, tok)
		return nil
	}
	// Through the running server first: it stores the code in its own Redis
	// under its own prefix, so the link works whatever this shell's
	// settings; a server that refuses says which settings differ.
	link, err := consoleLinkViaServer(cfg, *tenant, *sub, tok, *linkTTL)
	if errors.Is(err, errNoServer) {
		link, err = consoleLoginLink(cfg, tok, *linkTTL)
		if err == nil {
			fmt.Fprintf(stderr, "No hookgate answered at %s (server.public_url), so the link was stored in Redis directly: at %s (redis.addr) under prefix %q (redis.prefix). It works with a hookgate that uses these settings and the same auth.*.\n",
				cfg.Server.PublicURL, cfg.Redis.Addr, cfg.Redis.Prefix)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Open this link to sign in to the hookgate console as %s of tenant %s.\nIt works once, within %s; the session lasts %s.\n", *sub, *tenant, *linkTTL, *ttl)
	fmt.Fprintln(stdout, link)
	return nil
}

// devTenant is the tenant of the login link `serve` prints with the
// development secret.
const devTenant = "acme"

func devConsoleLink(cfg config.Config) (string, error) {
	tok, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: "admin", Tenant: devTenant,
		Roles: []string{hookgate.RoleAdmin, hookgate.RolePublisher}}, 8*time.Hour)
	if err != nil {
		return "", err
	}
	return consoleLoginLink(cfg, tok, 15*time.Minute)
}

// errNoServer: no hookgate answered at server.public_url, or it has no
// POST /v1/console/links.
var errNoServer = errors.New("no hookgate server answered")

// consoleLinkViaServer asks the hookgate at server.public_url to mint a
// login link for tok (POST /v1/console/links, with a one-minute system token
// signed like tok). A refusal names the settings to compare.
func consoleLinkViaServer(cfg config.Config, tenant, sub, tok string, ttl time.Duration) (string, error) {
	base := strings.TrimRight(cfg.Server.PublicURL, "/")
	sys, err := auth.Mint(cfg.Auth, hookgate.Principal{Subject: sub, Tenant: tenant, Roles: []string{hookgate.RoleSystem}}, time.Minute)
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]string{"token": tok, "ttl": ttl.String()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/console/links", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("server.public_url %q: %w", cfg.Server.PublicURL, err)
	}
	req.Header.Set("Authorization", "Bearer "+sys)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errNoServer, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out struct {
		Link  string `json:"link"`
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &out)
	switch {
	case resp.StatusCode == http.StatusCreated && out.Link != "":
		return out.Link, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return "", errNoServer // a hookgate without the route, or not a hookgate
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || out.Error.Code == "validation_failed":
		return "", fmt.Errorf("token --console: the hookgate at %s (server.public_url) refused to mint the link: %s %s.\n"+
			"Its auth settings differ from %s's: compare auth.hs256_secret (HOOKGATE_AUTH_HS256_SECRET), auth.algorithms, "+
			"auth.issuer, auth.audience and auth.roles, or pass --config with the server's configuration file",
			base, resp.Status, out.Error.Message, "this configuration")
	default:
		return "", fmt.Errorf("token --console: the hookgate at %s answered %s: %s", base, resp.Status, strings.TrimSpace(string(b)))
	}
}

// consoleLoginLink stores tok under a one-time code in Redis and returns the
// console URL that redeems it. The code travels in the URL fragment, which
// browsers never send to a server; the console exchanges it once through
// POST /v1/console/login and then removes it from the address bar.
func consoleLoginLink(cfg config.Config, tok string, ttl time.Duration) (string, error) {
	rdb := store.NewClient(cfg.Redis)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := store.NewLoginCodes(rdb, cfg.Redis.Prefix).Issue(ctx, tok, ttl)
	if err != nil {
		return "", fmt.Errorf("store the login link in Redis at %s: %w", cfg.Redis.Addr, err)
	}
	return strings.TrimRight(cfg.Server.PublicURL, "/") + "/console/#login=" + code, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func receive(args []string, stdout io.Writer) error {
	fs := newFlagSet("receive")
	var secrets multiFlag
	fs.Var(&secrets, "secret", "webhook secret to verify with (repeatable; none: print without verifying)")
	port := fs.Int("port", 9000, "port to listen on (127.0.0.1)")
	host := fs.String("host", "127.0.0.1", "address to listen on")
	status := fs.Int("status", 200, "HTTP status to answer with")
	confirm := fs.Bool("confirm", false, "follow SubscribeURL of SubscriptionConfirmation messages")
	tolerance := fs.Duration("tolerance", 5*time.Minute, "accepted clock difference of webhook timestamps")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	addr := fmt.Sprintf("%s:%d", *host, *port)
	return receiver.Run(ctx, receiver.Config{Addr: addr, Secrets: secrets, Status: *status, Out: stdout,
		Tolerance: *tolerance, AutoConfirm: *confirm})
}

func crm(args []string, stdout io.Writer) error {
	fs := newFlagSet("crm")
	port := fs.Int("port", 9100, "port to listen on")
	host := fs.String("host", "127.0.0.1", "address to listen on")
	hg := fs.String("hookgate", "", "base URL of the hookgate whose owner tokens are accepted (default: server.public_url of --config, else http://localhost:8080)")
	issuer := fs.String("issuer", "", "iss owner tokens must carry (default: incoming.issuer of --config, else the --hookgate URL)")
	configPath := fs.String("config", "config.yaml", "hookgate's configuration file, read (when it exists) for the two defaults above")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *hg == "" || *issuer == "" {
		hgDefault, issuerDefault := "http://localhost:8080", ""
		if *configPath != "" {
			if cfg, err := config.Load(*configPath); err == nil {
				hgDefault = strings.TrimRight(cfg.Server.PublicURL, "/")
				issuerDefault = cfg.Incoming.Issuer
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("crm: %w", err)
			}
		}
		if *hg == "" {
			*hg = hgDefault
		}
		if *issuer == "" {
			*issuer = issuerDefault
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return standin.Run(ctx, standin.Config{Addr: net.JoinHostPort(*host, strconv.Itoa(*port)), Hookgate: *hg, Issuer: *issuer, Out: stdout})
}
