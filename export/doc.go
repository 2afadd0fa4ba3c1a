// Package export owns the analyst file formats: SPSS system files (.sav),
// Stata 118 files (.dta), Parquet, and the codebook (Markdown or HTML) that
// describes them. The §2 CSV and XLSX response exports stay in package
// collect.
//
// Every format holds the same variables, described once by a Dictionary
// built from the latest revision of a form:
//
//   - instance_id (string), started, ended, submitted_at (date-times),
//     and client (string, only when asked for: exports are de-identified);
//   - one variable per question, named after it: select_one as numeric codes
//     1..k in list order with the choice labels as value labels,
//     select_multiple as one 0/1 variable per choice (field_choice) grouped
//     in an SPSS multiple dichotomy set, integer and decimal as numbers,
//     date and dateTime as dates and date-times, everything else as strings;
//   - the weight, when weights are given.
//
// Questions classified personal or sensitive are left out unless
// Options.IncludePersonal is set; who may set it is for the security work
// to decide (the caller checks the role). Responses of older revisions are
// decoded with their own revision and written under the latest revision's
// variables by question name, as collect.Export does.
//
// Memory stays flat however many responses there are: responses stream from
// the store; .sav and .dta, whose headers must give string widths and the
// number of cases before the data, first spool the converted rows to a
// temporary file while measuring them, then write the file from the spool.
// Parquet is written in one pass, a row group at a time.
package export
