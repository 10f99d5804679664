package hookgate

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"time"
)

// idEncoding spells every id: Crockford's base32 alphabet in lowercase (no
// i, l, o, u), without padding, so 128 bits are 26 URL-safe characters.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new random id with a prefix, such as
// "wh_06h1ktbwtspf6b3weagrw5wdnw": the prefix, "_", then 26 characters over
// 128 bits, 48 bits of Unix milliseconds followed by 80 bits from
// crypto/rand. Ids of one prefix sort by creation time (to the millisecond)
// and cannot be guessed. Records of every kind use it: webhooks ("wh"),
// endpoints ("ep"), incoming webhooks ("in"), events ("evt"), deliveries
// ("dl"), messages ("msg"), recoveries ("rcv").
func NewID(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	_, _ = rand.Read(b[6:]) // never fails: crypto/rand.Read panics rather than return an error
	return encodeID(prefix, &b)
}

// HashID returns the id of something derived rather than random: the prefix,
// "_", then the first 128 bits of sum (a hash of what identifies it; at least
// 16 bytes) in NewID's 26 characters. The same sum always gives the same id;
// such ids are not time-ordered.
func HashID(prefix string, sum []byte) string {
	return encodeID(prefix, (*[16]byte)(sum[:16]))
}

func encodeID(prefix string, b *[16]byte) string {
	var enc [26]byte
	idEncoding.Encode(enc[:], b[:])
	return prefix + "_" + string(enc[:])
}

// NewToken returns a new unguessable token for a URL: 32 bytes (256 bits)
// from crypto/rand in base64url without padding (43 characters). Incoming
// webhook URLs and confirmation links carry one.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand.Read panics rather than return an error
	return base64.RawURLEncoding.EncodeToString(b[:])
}
