package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is what `hookgate <name> --help` says about a subcommand; the
// top-level usage is built from the same table.
type command struct {
	name     string
	args     string   // what follows the name besides flags, if anything
	purpose  string   // one line
	more     string   // optional second line in the command list
	examples []string // one or two
	settings string   // the configuration it reads
}

// commands lists the subcommands in the order `hookgate help` shows them.
var commands = []command{
	{
		name:    "serve",
		purpose: "run the gateway (API, console, incoming URLs and delivery workers)",
		examples: []string{
			"hookgate serve --config config.yaml",
			"hookgate serve --dev    # local trial: http:// and loopback receivers, 127.0.0.1 only (make run)",
			"HOOKGATE_REDIS_ADDR=redis:6379 hookgate serve --config /etc/hookgate/config.yaml --role worker",
		},
		settings: "every setting of the configuration file, each overridable by its HOOKGATE_<SECTION>_<FIELD>\n" +
			"variable: server.listen (HOOKGATE_SERVER_LISTEN), redis.addr (HOOKGATE_REDIS_ADDR),\n" +
			"auth.hs256_secret, store.encryption_key, ... (docs/configuration.md)",
	},
	{
		name:    "token",
		purpose: "mint a development API token signed with the configured HS256 secret",
		more:    "(--console: print a one-time console login link instead)",
		examples: []string{
			"hookgate token --tenant acme --sub alice --roles admin,publisher",
			"hookgate token --tenant acme --roles outbound_webhooks   # a permission name auth.roles grants",
			"hookgate token --console --tenant acme --sub ada --ttl 8h",
		},
		settings: "auth.hs256_secret (HOOKGATE_AUTH_HS256_SECRET) signs the token, auth.algorithms must accept\n" +
			"HS256. With --console the link is minted by the hookgate at server.public_url\n" +
			"(POST /v1/console/links, so it works whatever this shell's Redis settings); when none answers,\n" +
			"it is stored in redis.addr under redis.prefix, which must then be the server's",
	},
	{
		name:    "receive",
		purpose: "run a small webhook receiver that verifies and prints deliveries",
		examples: []string{
			"hookgate receive --port 9000 --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			"hookgate receive --port 9001 --status 503",
		},
		settings: "none: it reads no configuration file, only its flags",
	},
	{
		name:    "crm",
		purpose: "run a stand-in CRM for incoming webhooks: verifies owner tokens, answers what it saw",
		examples: []string{
			"hookgate crm --port 9100",
			"hookgate crm --port 9100 --hookgate https://hooks.example.com",
		},
		settings: "server.public_url and incoming.issuer of --config (when the file exists) give the defaults of\n" +
			"--hookgate, the hookgate whose owner tokens it accepts (its JWKS at /.well-known/jwks.json), and\n" +
			"--issuer. The shipped\n" +
			"incoming.scopes point at 127.0.0.1:9100 (docs/incoming.md)",
	},
	{
		name:    "bench",
		purpose: "measure delivery throughput and latency against bare asynq",
		more:    "(--suite incoming: the incoming proxy against calling the upstream directly; --suite all: both, and one table of every figure with its target; --suite scaling: one and two worker processes of this binary on one Redis, then a Redis Cluster of three masters it starts (needs redis-server and redis-cli))",
		examples: []string{
			"hookgate bench --config config.yaml --rate 1000 --duration 10s",
			"hookgate bench --suite incoming --connections 32",
			"hookgate bench --suite all",
			"hookgate bench --suite scaling --events 20000",
		},
		settings: "redis.addr and redis.prefix (use a Redis you can spare) and the delivery.* settings of the\n" +
			"configuration file (docs/benchmarks.md)",
	},
	{
		name:    "plugin",
		args:    "new NAME",
		purpose: "new NAME: write a plugin repository (main.go, golden test, go.mod, Makefile, README)",
		examples: []string{
			"hookgate plugin new chat",
			"hookgate plugin new chat --module github.com/acme/hookgate-chat --sdk ../hookgate/plugins/sdk",
		},
		settings: "none (the new repository's go.mod requires the plugin SDK, with a replace to a hookgate\n" +
			"checkout until the SDK is published: docs/plugins.md)",
	},
	{
		name:     "version",
		purpose:  "print the version and the plugin protocol version (plugins built for another protocol are refused)",
		examples: []string{"hookgate version"},
		settings: "none",
	},
}

// usage is the top-level help: the subcommands and their purposes.
var usage = func() string {
	var b strings.Builder
	b.WriteString("usage: hookgate <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.purpose)
		if c.more != "" {
			fmt.Fprintf(&b, "  %-9s %s\n", "", c.more)
		}
	}
	b.WriteString("\nrun 'hookgate <command> --help' (or 'hookgate help <command>') for a command's flags, examples and settings")
	return b.String()
}()

// errHelped is returned by parseFlags when --help was asked for and printed:
// the command stops there and hookgate exits 0.
var errHelped = errors.New("help printed")

// newFlagSet returns the flag set of the named subcommand. It prints
// nothing itself: parseFlags decides where help and errors go.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs. -h/--help prints the command's help to
// stdout and returns errHelped; a bad flag returns a usageError carrying the
// error and the help, which main prints to stderr before exiting 2.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, commandHelp(fs))
		return errHelped
	default:
		return usageError{fmt.Sprintf("%s: %v\n\n%s", fs.Name(), err, commandHelp(fs))}
	}
}

// commandHelp is `hookgate <name> --help`: purpose, flags with defaults,
// examples and the settings the command reads.
func commandHelp(fs *flag.FlagSet) string {
	var c command
	for _, cc := range commands {
		if cc.name == fs.Name() {
			c = cc
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hookgate %s: %s\n", c.name, c.purpose)
	fmt.Fprintf(&b, "\nusage: hookgate %s [flags]\n", strings.TrimSpace(c.name+" "+c.args))
	var flags strings.Builder
	fs.SetOutput(&flags)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if flags.Len() > 0 {
		fmt.Fprintf(&b, "\nflags:\n%s", flags.String())
	}
	b.WriteString("\nexamples:\n")
	for _, e := range c.examples {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	fmt.Fprintf(&b, "\nsettings:\n  %s\n", strings.ReplaceAll(c.settings, "\n", "\n  "))
	return b.String()
}
