// Package collect owns getting responses in and the response file format out:
// registering forms, importing CONTRACTS.md §2 wide CSV files, taking
// submissions from the web form and the API (Collector: validation with the
// form's own expressions, idempotency by instance id, group commit, receipts
// and withdrawal, paradata, rate limits, open and close times), and exporting
// stored responses as the same CSV or as XLSX.
//
// A submission is acknowledged only once it is durably stored: Committer
// gathers the submissions that arrive within a millisecond or so and stores
// them in one transaction, so one fsync serves many respondents.
//
// Import reads a file twice: the first pass checks all of it in constant
// memory and refuses a malformed file whole, with every problem as
// file:line: message; only a clean file reaches the second pass, which stores
// it in batches. Re-importing a file stores nothing new: instance ids already
// stored are counted as already present.
package collect
