package web

import "embed"

// Assets holds the browser pages of mediad: assets/index.html (served at /),
// assets/watch.html (served at /watch/NAME) and the scripts and style sheet
// they load, all served under /assets/. There is no build step; the files are
// plain HTML, CSS and ES modules.
//
//go:embed assets
var Assets embed.FS
