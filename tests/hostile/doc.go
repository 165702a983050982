// Package hostile holds connectd's hostile-input tests: what a careless or
// malicious client sends, over real HTTP against a full server (API and
// portal) from internal/apitest:
//
//   - a catalogue of malformed requests (broken JSON, wrong types at every
//     field, deep nesting, huge values, invalid UTF-8, oversize bodies sent
//     with a length and chunked, wrong content types, CR/LF in headers,
//     odd IDs in paths, confusable emails), each with the 4xx status and
//     error code it must get, and no 5xx at all;
//   - hostile callback URLs (open-redirect and allow-list bypass tricks),
//     none of which may be accepted;
//   - a canary run that sends recognisable secrets everywhere a client can
//     put them and checks that none comes back in logs, metrics, error
//     bodies or pages;
//   - a crawl of every route for the security headers.
//
// The package has no code besides this file: it is tests only. The figures
// the tests assert are listed in docs/reliability.md.
package hostile
