// Package standin is a stand-in CRM for trying incoming webhooks on one
// machine (`hookgate crm`): it answers every path the shipped scopes open,
// verifies the owner token hookgate sends against hookgate's JWKS, and
// answers what it saw, so a first incoming call shows the whole round trip
// (who called, as whom, which path) without a real CRM.
package standin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookgate/hookgate/internal/ownertoken"
)

// Limits of the stand-in: it is a tool for trying, not a CRM.
const (
	maxBody     = 1 << 20  // request bodies read
	maxJWKS     = 64 << 10 // JWKS document read
	jwksRefresh = 5 * time.Minute
)

// Config is what `hookgate crm` takes from its flags.
type Config struct {
	Addr string // where to listen, e.g. 127.0.0.1:9100
	// Hookgate is the base URL of the hookgate whose owner tokens are
	// accepted: its JWKS is {Hookgate}/.well-known/jwks.json.
	Hookgate string
	// Issuer is the iss owner tokens must carry; "" means Hookgate (the
	// default of incoming.issuer is server.public_url).
	Issuer string
	Out    io.Writer // one line per request; nil: discarded
	Client *http.Client
}

// Answer is the JSON body of every answer the stand-in gives to a call with
// a valid owner token.
type Answer struct {
	StandIn           string          `json:"stand_in"`
	Method            string          `json:"method"`
	Path              string          `json:"path"`
	Query             string          `json:"query,omitempty"`
	Owner             string          `json:"owner"`
	Tenant            string          `json:"tenant"`
	Scope             string          `json:"scope"`
	IncomingWebhookID string          `json:"incoming_webhook_id"`
	Body              json.RawMessage `json:"body,omitempty"`
}

// Server is the stand-in's HTTP handler.
type Server struct {
	cfg Config

	mu      sync.Mutex
	keys    ownertoken.KeySet
	fetched time.Time
}

// New returns the handler for cfg.
func New(cfg Config) *Server {
	cfg.Hookgate = strings.TrimRight(cfg.Hookgate, "/")
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.Hookgate
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	return &Server{cfg: cfg}
}

// Run serves on cfg.Addr until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: New(cfg), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(orDiscard(cfg.Out), "stand-in CRM on http://%s, accepting owner tokens of %s\n", ln.Addr(), strings.TrimRight(cfg.Hookgate, "/"))
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		s.refuse(w, r, "missing_token", "no owner token: call the CRM through an incoming webhook URL of hookgate")
		return
	}
	claims, err := s.verify(r.Context(), tok)
	if err != nil {
		s.refuse(w, r, "invalid_token", err.Error())
		return
	}
	a := Answer{StandIn: "hookgate crm", Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Owner: claims.Subject, Tenant: claims.Tenant, Scope: claims.Scope, IncomingWebhookID: claims.IncomingWebhookID}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": map[string]string{"code": "too_large", "message": "request body over 1 MiB"}})
		return
	}
	if len(body) > 0 {
		if json.Valid(body) {
			a.Body = body
		} else {
			a.Body, _ = json.Marshal(string(body))
		}
	}
	fmt.Fprintf(s.cfg.Out, "%s %s %s as %s of %s via %s\n", time.Now().Format(time.TimeOnly), r.Method, r.URL.RequestURI(), a.Owner, a.Tenant, a.IncomingWebhookID)
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code, msg string) {
	fmt.Fprintf(s.cfg.Out, "%s %s %s refused: %s\n", time.Now().Format(time.TimeOnly), r.Method, r.URL.RequestURI(), msg)
	writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// verify checks tok against hookgate's JWKS, fetched on first use, every
// five minutes, and again when a kid is unknown (key rotation).
func (s *Server) verify(ctx context.Context, tok string) (*ownertoken.Claims, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil || time.Since(s.fetched) > jwksRefresh {
		if err := s.fetch(ctx); err != nil {
			return nil, err
		}
	}
	c, err := s.keys.Verify(tok, s.cfg.Issuer)
	if err != nil && strings.Contains(err.Error(), "unknown kid") && time.Since(s.fetched) > time.Second {
		if ferr := s.fetch(ctx); ferr != nil {
			return nil, ferr
		}
		c, err = s.keys.Verify(tok, s.cfg.Issuer)
	}
	if err != nil {
		return nil, fmt.Errorf("owner token refused: %w", err)
	}
	return c, nil
}

func (s *Server) fetch(ctx context.Context) error {
	url := s.cfg.Hookgate + "/.well-known/jwks.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch hookgate's keys from %s (is hookgate running? --hookgate): %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch hookgate's keys from %s: HTTP %d", url, resp.StatusCode)
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
	if err != nil {
		return err
	}
	keys, err := ownertoken.ParseJWKS(doc)
	if err != nil {
		return err
	}
	s.keys, s.fetched = keys, time.Now()
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
