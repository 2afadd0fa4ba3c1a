# The acceptance comparison of issue 7: R's rake() + svymean() on the
# netizen responses in netizen.csv, weighted to netizen_margins.csv.
#
#   cd stats/testdata && LC_ALL=C Rscript netizen.R
#
# writes netizen_reference.json: for the unweighted design (the valid
# responses as a simple random sample) and the raked one, every choice's
# percent of its question's base (the responses that answered it), its SE
# and logit CI (svyciprop, and its delta-method twin "xlogit") in percentage
# points and its (weighted) count,
# overall and within the groups of age_band and gender; the net "improved"
# (safety_change big_up + up); and Rao–Scott F tests of each single-choice
# question against age_band and gender.

suppressMessages(library(survey))

toj <- function(x) {
  arr <- function(parts) paste0("[", paste(parts, collapse = ","), "]")
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      parts <- mapply(function(k, v) paste0(toj(k), ":", toj(v)), names(x), x)
      return(paste0("{", paste(parts, collapse = ","), "}"))
    }
    return(arr(vapply(x, toj, "")))
  }
  if (is.character(x)) return(paste0('"', x, '"'))
  ifelse(is.na(x), "null", sprintf("%.17g", x))
}

d <- read.csv("netizen.csv", colClasses = "character", na.strings = "")
m <- read.csv("netizen_margins.csv", colClasses = c("character", "character", "numeric"))
n <- nrow(d)
single <- c("gender", "age_band", "education", "net_age", "occupation", "province",
            "overall_safety", "safety_change", "used_gov_online", "convenient",
            "gov_security", "legislation_view")
multiple <- setdiff(names(d), c("instance_id", single))

# 0/1 indicator columns, one per (question, choice) chosen by anyone; NA
# when the question is unanswered.
ind <- list()
for (q in c(single, multiple)) {
  answered <- !is.na(d[[q]])
  choices <- sort(unique(unlist(strsplit(d[[q]][answered], " "))))
  for (ch in choices) {
    v <- if (q %in% single) d[[q]] == ch else sapply(strsplit(d[[q]], " "), function(s) ch %in% s)
    v <- as.numeric(v)
    v[!answered] <- NA
    ind[[paste(q, ch, sep = "/")]] <- v
  }
}
imp <- as.numeric(d$safety_change %in% c("big_up", "up"))
imp[is.na(d$safety_change)] <- NA
ind[["safety_change/improved"]] <- imp
d <- cbind(d, as.data.frame(ind, check.names = FALSE))
vars <- names(ind)
safe <- make.names(vars, unique = TRUE)
names(d)[match(vars, names(d))] <- safe

base.design <- svydesign(ids = ~1, data = d)
pop <- lapply(split(m, m$field), function(x) {
  df <- data.frame(x$choice, Freq = x$share * n)
  names(df)[1] <- x$field[1]
  df
})
raked <- rake(base.design, list(~gender, ~age_band), pop[c("gender", "age_band")],
              control = list(maxit = 500, epsilon = 1e-13))

estimates <- function(des) {
  out <- list()
  groups <- list(list(by = "", group = "", keep = rep(TRUE, n)))
  for (by in c("age_band", "gender")) {
    for (g in sort(unique(d[[by]]))) groups[[length(groups) + 1]] <- list(by = by, group = g, keep = d[[by]] == g)
  }
  for (gr in groups) {
    for (k in seq_along(vars)) {
      v <- safe[k]
      q <- sub("/.*", "", vars[k])
      answered <- gr$keep & !is.na(d[[v]])
      if (sum(answered) == 0) next
      sub.des <- des[answered, ]
      f <- as.formula(paste0("~`", v, "`"))
      est <- svymean(f, sub.des, na.rm = TRUE)
      ci <- svyciprop(as.formula(paste0("~I(`", v, "` == 1)")), sub.des, method = "logit")
      # The same interval by the delta method on the logit scale, which
      # does not need svyglm's fit (that can diverge on a small domain).
      cix <- svyciprop(as.formula(paste0("~I(`", v, "` == 1)")), sub.des, method = "xlogit", na.rm = TRUE)
      tot <- svytotal(f, sub.des, na.rm = TRUE)
      out[[length(out) + 1]] <- list(
        question = q, choice = sub(".*/", "", vars[k]), by = gr$by, group = gr$group,
        base = sum(answered), percent = 100 * as.vector(coef(est)), se = 100 * as.vector(SE(est)),
        ci_low = 100 * as.vector(attr(ci, "ci"))[1], ci_high = 100 * as.vector(attr(ci, "ci"))[2],
        xlogit_low = 100 * as.vector(attr(cix, "ci"))[1], xlogit_high = 100 * as.vector(attr(cix, "ci"))[2],
        count = as.vector(coef(tot)))
    }
  }
  out
}

tests <- function(des) {
  out <- list()
  for (by in c("age_band", "gender")) {
    for (q in setdiff(single, by)) {
      # Structural zeros (a 12-18 year old with a doctorate is invalid)
      # make some tables' Δ singular; R refuses those, and so does Go.
      r <- tryCatch(svychisq(as.formula(paste("~", q, "+", by)), des, statistic = "F"), error = function(e) NULL)
      if (is.null(r)) next
      out[[length(out) + 1]] <- list(rows = q, cols = by, statistic = as.vector(r$statistic),
                                     ndf = as.vector(r$parameter[1]), ddf = as.vector(r$parameter[2]),
                                     p_value = as.vector(r$p.value))
    }
  }
  out
}

t0 <- proc.time()
designs <- list(
  list(name = "unweighted", estimates = suppressWarnings(estimates(base.design)), tests = tests(base.design)),
  list(name = "rake", estimates = suppressWarnings(estimates(raked)), tests = tests(raked)))
elapsed <- (proc.time() - t0)[["elapsed"]]
doc <- list(r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            n = n, seconds = elapsed, designs = designs)
writeLines(toj(doc), "netizen_reference.json")
cat(n, "responses,", sum(sapply(designs, function(x) length(x$estimates))), "estimates in", elapsed, "s\n")
