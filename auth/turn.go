package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"time"
)

// TURNCredentials makes a short-lived TURN credential by the TURN REST
// convention (draft-uberti-behave-turn-rest, coturn's use-auth-secret):
// username "<expiry unix seconds>:<id>", credential
// base64(HMAC-SHA1(secret, username)). The TURN server, sharing secret,
// accepts it until expiry.
func TURNCredentials(secret, id string, expiry time.Time) (username, credential string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + id
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(m.Sum(nil))
}
