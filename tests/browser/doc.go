// Package browser holds connectd's browser tests: a real headless Chromium
// (Debian's /usr/bin/chromium, never a downloaded browser) drives the
// hosted portal of a real loopback server through every intent, the link
// back to a local callback server, the abort, expiry and replay paths,
// hosted login, and the frame protection. All traffic stays on loopback.
//
// The package has tests only. Run them with
//
//	go test ./tests/browser/
//
// They skip when /usr/bin/chromium is missing (apt-get install chromium),
// unless CONNECTD_TEST_REQUIRE_BROWSER=1, as CI sets. With
// CONNECTD_SCREENSHOTS=1 they also write the pages' screenshots at 375
// pixels wide to docs/screenshots/.
package browser
