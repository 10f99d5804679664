// Package console holds hookgate's web console: static HTML, CSS and
// JavaScript modules embedded in the binary with go:embed, so that hookgate
// serves its console air-gapped, with no CDN and no build step. The console
// is a client of the public JSON API and nothing else; the gateway mounts
// these files under /console/.
//
// This package must not import the gateway or any HTTP framework: it only
// owns the assets and says how they are to be served (content types and
// security headers).
package console

import (
	"embed"
	"io/fs"
	"mime"
	"path"
)

//go:embed static
var static embed.FS

// Files returns the console's assets, rooted at the directory that holds
// index.html.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		// The directory is embedded at compile time; its absence is a build bug.
		panic("console: embedded static directory missing: " + err.Error())
	}
	return sub
}

// ContentType is the Content-Type to serve the asset name with.
func ContentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Headers are the security headers every console response carries. The
// Content-Security-Policy allows only the console's own files and calls to
// its own origin: no inline script, no third-party origin, no framing. The
// Referrer-Policy keeps URLs out of Referer headers.
var Headers = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"Referrer-Policy":        "no-referrer",
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Cache-Control":          "no-cache",
}
