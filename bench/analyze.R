# R's time for the raking and estimates of `govsurvey bench analyze`, on
# the same data: the valid responses it writes with --csv.
#
#   govsurvey bench analyze --n 1000000 --csv /tmp/netizen-1m.csv
#   Rscript bench/analyze.R /tmp/netizen-1m.csv
#
# Stages: read the CSV; rake() to the margins of bench.NetizenMargins
# (gender 51/49, the CNNIC age structure), run to 1e-9 of the total weight
# like govsurvey's 1e-9 relative; svymean() with SEs of every choice of
# every question over the responses that answered it (single-choice
# questions in one call, each multiple-choice question's 0/1 indicators in
# one call on its domain). svyby() by province is left out: the issue
# measured 753 s for it on this machine.

suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 1)
timed <- function(label, expr) {
  t0 <- proc.time()[["elapsed"]]
  v <- force(expr)
  cat(sprintf("%-40s %8.1f s\n", label, proc.time()[["elapsed"]] - t0))
  v
}
d <- timed("read.csv", read.csv(args[1], colClasses = "character", na.strings = ""))
n <- nrow(d)
single <- c("gender", "age_band", "education", "net_age", "occupation", "province",
            "overall_safety", "safety_change", "used_gov_online", "convenient",
            "gov_security", "legislation_view")
multiple <- setdiff(names(d), single)
for (q in single) d[[q]] <- factor(d[[q]])
des <- suppressWarnings(svydesign(ids = ~1, data = d))
pop <- list(data.frame(gender = c("male", "female"), Freq = n * c(0.51, 0.49)),
            data.frame(age_band = c("a12_18", "a19_24", "a25_30", "a31_45", "a46_60", "a60_80"),
                       Freq = n * c(0.1276, 0.1509, 0.1582, 0.3234, 0.1655, 0.0744)))
raked <- timed("rake", rake(des, list(~gender, ~age_band), pop, control = list(maxit = 100, epsilon = 1e-9)))
timed("svymean, single-choice questions", svymean(as.formula(paste("~", paste(single, collapse = "+"))), raked))
timed("svymean, multiple-choice questions", for (q in multiple) {
  answered <- !is.na(d[[q]])
  choices <- sort(unique(unlist(strsplit(d[[q]][answered], " "))))
  x <- sapply(choices, function(ch) as.numeric(grepl(paste0("(^| )", ch, "( |$)"), d[[q]])))
  colnames(x) <- make.names(choices)
  svymean(x, raked[answered, ])
})
