// Package collect owns getting responses in and the response file format out:
// registering forms, importing CONTRACTS.md §2 wide CSV files (and, later, the
// respondent web form and the submission API), and exporting stored responses
// as the same CSV or as XLSX.
//
// Import reads a file twice: the first pass checks all of it in constant
// memory and refuses a malformed file whole, with every problem as
// file:line: message; only a clean file reaches the second pass, which stores
// it in batches. Re-importing a file stores nothing new: instance ids already
// stored are counted as already present.
package collect
