// Package proto is the gRPC contract between hookgate and its plugins
// (plugin.proto), the code generated from it (regenerate with gen.sh), and
// the go-plugin handshake values both sides must agree on. It holds no
// behaviour: the host side is plugins/host, the plugin side plugins/sdk.
package proto

// Handshake values. A plugin refuses to run unless hookgate set the magic
// cookie in its environment, and hookgate refuses a plugin that announces
// another ProtocolVersion in its handshake line
// ("1|<ProtocolVersion>|tcp|127.0.0.1:PORT|grpc").
const (
	// ProtocolVersion is the version of this contract (go-plugin's
	// application protocol version). Bump it on any incompatible change.
	ProtocolVersion = 1
	// MagicCookieKey is the environment variable hookgate sets for its plugins.
	MagicCookieKey = "HOOKGATE_PLUGIN"
	// MagicCookieValue is its value.
	MagicCookieValue = "7c1f0b5e-hookgate-plugin-v1"
	// PluginName is the go-plugin plugin-set key every hookgate plugin serves.
	PluginName = "hookgate"
	// HealthService is the service name go-plugin checks with grpc.health.v1.
	HealthService = "plugin"
)

// The call socket (InfoResponse.call_socket, CallRequest, CallResponse).
const (
	// SocketDirEnv names the environment variable in which hookgate gives a
	// plugin a private directory (mode 0700, removed when the process is
	// gone) for its call socket. Without it the plugin offers no socket.
	SocketDirEnv = "HOOKGATE_PLUGIN_SOCKET_DIR"
	// TransportEnv set to "grpc" in a plugin's environment makes the Go
	// SDK offer no call socket: every call then goes over gRPC.
	TransportEnv = "HOOKGATE_PLUGIN_TRANSPORT"
	// MaxCallRequest is the largest CallRequest frame a plugin must accept
	// (gRPC's default for a received message); hookgate sends a larger
	// request over gRPC.
	MaxCallRequest = 4 << 20
)
