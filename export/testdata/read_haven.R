# Reads a .sav or .dta file with R haven (ReadStat), an implementation
# independent of govsurvey's writers, and prints what it found as JSON:
# the number of rows, the variable names in order, and per variable its
# label, value labels (code -> label), display format and values.
# Usage: Rscript read_haven.R FILE
suppressPackageStartupMessages({
  library(haven)
  library(jsonlite)
})
path <- commandArgs(trailingOnly = TRUE)[1]
df <- if (grepl("[.]sav$", path)) read_sav(path, user_na = FALSE) else read_dta(path)
vars <- list()
for (nm in names(df)) {
  col <- df[[nm]]
  v <- list(label = attr(col, "label", exact = TRUE))
  labs <- attr(col, "labels", exact = TRUE)
  if (!is.null(labs)) {
    v$value_labels <- setNames(as.list(names(labs)), format(unname(labs), scientific = FALSE, trim = TRUE))
  }
  v$format <- if (!is.null(attr(col, "format.spss"))) attr(col, "format.spss") else attr(col, "format.stata")
  if (inherits(col, "POSIXct")) {
    v$type <- "datetime"
    v$values <- I(format(col, "%Y-%m-%dT%H:%M:%OS3", tz = "UTC"))
  } else if (inherits(col, "Date")) {
    v$type <- "date"
    v$values <- I(format(col, "%Y-%m-%d"))
  } else if (is.character(col)) {
    v$type <- "string"
    v$values <- I(as.vector(col))
  } else {
    v$type <- "number"
    v$values <- I(as.vector(zap_labels(col)))
  }
  vars[[nm]] <- v
}
out <- list(rows = nrow(df), names = I(names(df)), variables = vars)
cat(toJSON(out, auto_unbox = TRUE, null = "null", na = "null", digits = NA))
