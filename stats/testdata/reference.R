# Reference values for package stats, computed with R's survey package.
#
#   cd stats/testdata && LC_ALL=C Rscript reference.R
#
# writes reference.json (every case's specification and R's results, numbers
# printed with %.17g) and the input data as CSV: R's api data sets (apisrs,
# apistrat, apiclus1, apiclus2; the columns used), mu284, and constructed
# data sets: two survey-like ones with categorical answers (panel.csv,
# lonely.csv) and two multi-stage ones (lonely2.csv, stage3.csv).
# The Go tests rebuild each design, weighting and estimate from the
# specification and compare; they never need R.
#
# Tolerances of the comparison (issue 7): estimates 1e-9, standard errors
# and everything computed from them 1e-6, relative.
#
# Raking and calibration are run to convergence far tighter than R's
# defaults (rake's epsilon=1 stops when no cell of the table moves by a
# whole unit of weight): CONTRACTS.md §5 asks for margins met within 1e-9.

suppressMessages(library(survey))
data(api)

out.dir <- "."

# ---------------------------------------------------------------- JSON
# A small writer: numbers with %.17g so that every double survives the
# trip; vectors wrapped in I() are arrays even when of length one.
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
  if (is.matrix(x)) {
    return(arr(apply(x, 1, function(r) toj(I(as.vector(r))))))
  }
  one <- length(x) == 1 && !inherits(x, "AsIs")
  if (is.character(x) || is.factor(x)) {
    s <- paste0('"', gsub('(["\\\\])', "\\\\\\1", as.character(x)), '"')
  } else if (is.logical(x)) {
    s <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else {
    x <- as.vector(unclass(x))
    s <- ifelse(is.na(x), "null", sprintf("%.17g", x))
  }
  if (one) s else arr(s)
}

# ---------------------------------------------------------------- data
# Constructed data: a web survey shaped like the netizen questionnaire,
# deliberately unbalanced (two thirds male, young) so that weighting moves
# the estimates. Answers depend on gender, age and region.
set.seed(20190701)
n <- 1000
gender <- sample(c("male", "female"), n, replace = TRUE, prob = c(0.67, 0.33))
age <- sample(c("a12_18", "a19_24", "a25_30", "a31_45", "a46_80"), n, replace = TRUE,
              prob = c(0.22, 0.35, 0.18, 0.18, 0.07))
region <- sample(paste0("r", 1:6), n, replace = TRUE, prob = c(0.3, 0.2, 0.15, 0.15, 0.1, 0.1))
agei <- match(age, sort(unique(age)))
regi <- as.integer(substr(region, 2, 2))
lin <- 0.4 * (gender == "female") + 0.3 * agei - 0.2 * regi + rnorm(n)
safety <- cut(lin, c(-Inf, -1, 0, 1, 2, Inf),
              labels = c("very_unsafe", "unsafe", "neutral", "safe", "very_safe"))
improved <- ifelse(runif(n) < plogis(-0.3 + 0.25 * agei - 0.1 * regi), "yes", "no")
risk_pii <- as.integer(runif(n) < plogis(0.2 + 0.2 * (gender == "male")))
risk_phish <- as.integer(runif(n) < plogis(-0.5 + 0.15 * agei))
risk_other <- as.integer(runif(n) < 0.08)
used_gov <- ifelse(runif(n) < plogis(-1 + 0.4 * agei), "yes", "no")
gov_bank <- ifelse(used_gov == "yes", as.integer(runif(n) < plogis(0.5 - 0.1 * regi)), NA)
score <- round(60 + 5 * agei - 3 * regi + 10 * rnorm(n), 1)
basew <- round(1 + regi / 3 + 0.5 * (gender == "female"), 4)
panel <- data.frame(id = 1:n, gender, age, region, safety = as.character(safety), improved,
                    risk_pii, risk_phish, risk_other, used_gov, gov_bank, score, basew,
                    stringsAsFactors = FALSE)

# Strata with a single PSU, for the lonely-PSU rules.
lonely <- data.frame(st = c(1, 1, 1, 2, 3, 3, 3, 3, 4),
                     y = c(3.5, 4.25, 1, 7, 2, 2.5, 9, 4, 6),
                     w = c(10, 12, 8, 30, 5, 5, 6, 7, 20))

# Multi-stage designs (fpc at every stage): R's mu284 (Särndal et al.'s
# MU284, 15 of 50 clusters, 3 municipalities each) with a yes/no for
# svyciprop; lonely2, two stages with a PSU in which one SSU was drawn
# (N2a: of 3, lonely at stage 2; N2b: of 1, a census) and stage-2 strata
# st2 (in PSU 1, a stage-2 stratum with one SSU of 4); stage3, three
# stages, values from a formula (no random numbers, so that the data
# above keep their seed).
data(mu284)
mu284$big <- ifelse(mu284$y1 >= 45, "yes", "no")
lonely2 <- data.frame(st = c(1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2),
                      psu = c(1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 5),
                      st2 = c(1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1),
                      ssu = c(1, 2, 3, 1, 2, 1, 2, 1, 1, 2, 3),
                      y = c(3, 4.5, 6, 2, 2.5, 7, 8, 5, 1, 9, 4),
                      N1 = c(5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4),
                      N2a = c(10, 10, 10, 6, 6, 2, 2, 3, 7, 7, 7),
                      N2b = c(10, 10, 4, 6, 6, 2, 2, 1, 7, 7, 7),
                      keep4 = c(rep("yes", 7), "no", rep("yes", 3)),
                      keep3 = c("yes", "yes", "no", rep("yes", 8)))
stage3 <- expand.grid(el = 1:3, ssu = 1:2, psu = 1:5)
stage3$st <- ifelse(stage3$psu <= 3, 1, 2)
stage3$el[stage3$psu == 2 & stage3$ssu == 1 & stage3$el == 3] <- NA # two elements there
stage3 <- stage3[!is.na(stage3$el), c("st", "psu", "ssu", "el")]
stage3$N1 <- ifelse(stage3$st == 1, 8, 5)
stage3$N2 <- 4 + stage3$psu %% 3
stage3$N3 <- 10
stage3$y <- (stage3$psu * 7 + stage3$ssu * 5 + stage3$el * 3) %% 11 + stage3$psu / 2

datasets <- list(apisrs = apisrs, apistrat = apistrat, apiclus1 = apiclus1, apiclus2 = apiclus2,
                 panel = panel, lonely = lonely, mu284 = mu284, lonely2 = lonely2, stage3 = stage3)
api.cols <- c("cds", "stype", "dnum", "snum", "api00", "api99", "enroll", "meals", "ell",
              "sch.wide", "comp.imp", "awards", "both", "pw")
write.csv(apisrs[, c(api.cols, "fpc")], file.path(out.dir, "apisrs.csv"), row.names = FALSE, na = "")
write.csv(apistrat[, c(api.cols, "fpc")], file.path(out.dir, "apistrat.csv"), row.names = FALSE, na = "")
write.csv(apiclus1[, c(api.cols, "fpc")], file.path(out.dir, "apiclus1.csv"), row.names = FALSE, na = "")
write.csv(apiclus2[, c(api.cols, "fpc1", "fpc2")], file.path(out.dir, "apiclus2.csv"), row.names = FALSE, na = "")
write.csv(panel, file.path(out.dir, "panel.csv"), row.names = FALSE, na = "")
write.csv(lonely, file.path(out.dir, "lonely.csv"), row.names = FALSE, na = "")
write.csv(mu284, file.path(out.dir, "mu284.csv"), row.names = FALSE, na = "")
write.csv(lonely2, file.path(out.dir, "lonely2.csv"), row.names = FALSE, na = "")
write.csv(stage3, file.path(out.dir, "stage3.csv"), row.names = FALSE, na = "")

# ---------------------------------------------------------------- specs
fml <- function(vars) as.formula(paste("~", paste(vars, collapse = "+")))

make.design <- function(s) {
  data <- datasets[[s$data]]
  ids <- if (is.null(s$ids)) ~1 else fml(s$ids)
  strata <- if (is.null(s$strata)) NULL else fml(s$strata)
  weights <- if (is.null(s$weights)) NULL else fml(s$weights)
  fpc <- if (is.null(s$fpc)) NULL else fml(s$fpc)
  suppressWarnings(svydesign(ids = ids, strata = strata, weights = weights, fpc = fpc, data = data))
}

# A margin's population: list(var=, levels=, totals=) as a data frame.
pop.frame <- function(m) {
  df <- data.frame(m$levels, Freq = as.numeric(m$totals), stringsAsFactors = FALSE)
  names(df)[1] <- m$var
  df
}

apply.step <- function(des, st) {
  switch(st$type,
    postStratify = {
      # A joint post-stratification: cells of several variables.
      df <- as.data.frame(do.call(rbind, lapply(st$cells, function(c) c$levels)), stringsAsFactors = FALSE)
      names(df) <- st$vars
      df$Freq <- sapply(st$cells, function(c) c$total)
      postStratify(des, fml(st$vars), df)
    },
    rake = rake(des, lapply(st$margins, function(m) fml(m$var)), lapply(st$margins, pop.frame),
                control = list(maxit = 500, epsilon = 1e-13)),
    calibrate = {
      if (!is.null(st$margins)) {
        vars <- sapply(st$margins, function(m) m$var)
        pop <- c(sum(st$margins[[1]]$totals))
        for (m in st$margins) pop <- c(pop, m$totals[-1])
        f <- fml(vars)
      } else {
        f <- fml(st$terms)
        pop <- st$totals
      }
      bounds <- if (is.null(st$bounds)) c(-Inf, Inf) else unlist(st$bounds)
      calibrate(des, f, pop, calfun = st$calfun, bounds = bounds, epsilon = 1e-13, maxit = 100)
    },
    trim = trimWeights(des, lower = st$lower, upper = st$upper, strict = isTRUE(st$strict)),
    stop("unknown step ", st$type))
}

ind <- function(var, level) bquote(~I(.(as.name(var)) == .(level)))

estimate <- function(des, e) {
  switch(e$type,
    mean = , total = {
      f <- if (!is.null(e$factor)) fml(e$factor) else fml(e$vars)
      r <- if (e$type == "mean") svymean(f, des, na.rm = TRUE) else svytotal(f, des, na.rm = TRUE)
      list(names = I(names(coef(r))), value = I(as.vector(coef(r))), se = I(as.vector(SE(r))), cov = as.matrix(vcov(r)))
    },
    ratio = {
      r <- svyratio(fml(e$num), fml(e$den), des)
      list(value = I(as.vector(coef(r))), se = I(as.vector(SE(r))))
    },
    ciprop = {
      f <- eval(ind(e$var, e$level))
      m <- svymean(eval(bquote(~as.numeric(.(f[[2]])))), des)
      p <- as.vector(coef(m)); v <- as.vector(vcov(m))
      if (e$method == "wilson") {
        # Not an R method: the Wilson score interval on the effective
        # sample size with the design-df t quantile, written out here
        # independently of the Go code.
        t <- qt(1 - (1 - e$level.ci) / 2, degf(des))
        neff <- p * (1 - p) / v
        den <- 1 + t^2 / neff
        ci <- (p + t^2 / (2 * neff)) / den + c(-1, 1) * t * sqrt(p * (1 - p) / neff + t^2 / (4 * neff^2)) / den
      } else {
        r <- svyciprop(f, des, method = e$method, level = e$level.ci)
        ci <- as.vector(attr(r, "ci"))
        p <- as.vector(r)
      }
      list(value = I(p), se = I(sqrt(v)), ci = I(ci), df = degf(des))
    },
    chisq = {
      r <- svychisq(fml(c(e$rows, e$cols)), des, statistic = e$statistic)
      list(statistic = as.vector(r$statistic), parameter = I(as.vector(r$parameter)),
           p_value = as.vector(r$p.value))
    },
    stop("unknown estimator ", e$type))
}

# ---------------------------------------------------------------- cases
pop.types <- list(var = "stype", levels = I(c("E", "H", "M")), totals = I(c(4421, 755, 1018)))
pop.schwide <- list(var = "sch.wide", levels = I(c("No", "Yes")), totals = I(c(1072, 5122)))

# Population margins for the panel: 1,000,000 people, gender 51/49
# (illustrative national shares), ages and regions likewise.
N <- 1e6
pop.gender <- list(var = "gender", levels = I(c("female", "male")), totals = I(N * c(0.49, 0.51)))
pop.age <- list(var = "age", levels = I(c("a12_18", "a19_24", "a25_30", "a31_45", "a46_80")),
                totals = I(N * c(0.15, 0.20, 0.20, 0.25, 0.20)))
pop.region <- list(var = "region", levels = I(paste0("r", 1:6)),
                   totals = I(N * c(0.25, 0.2, 0.2, 0.15, 0.1, 0.1)))
joint <- expand.grid(gender = c("female", "male"), age = pop.age$levels, stringsAsFactors = FALSE)
joint.cells <- lapply(seq_len(nrow(joint)), function(i) {
  list(levels = I(c(joint$gender[i], joint$age[i])),
       total = as.vector(unclass(pop.gender$totals)[match(joint$gender[i], pop.gender$levels)] *
         unclass(pop.age$totals)[match(joint$age[i], pop.age$levels)] / N))
})

d.srs <- list(data = "apisrs", weights = "pw")
d.srs.fpc <- list(data = "apisrs", weights = "pw", fpc = "fpc")
d.strat <- list(data = "apistrat", strata = "stype", weights = "pw")
d.strat.fpc <- list(data = "apistrat", strata = "stype", weights = "pw", fpc = "fpc")
d.clus1 <- list(data = "apiclus1", ids = I("dnum"), weights = "pw")
d.clus1.fpc <- list(data = "apiclus1", ids = I("dnum"), weights = "pw", fpc = "fpc")
d.clus2 <- list(data = "apiclus2", ids = I(c("dnum", "snum")), weights = "pw")
d.panel <- list(data = "panel")
d.panel.strat <- list(data = "panel", strata = "region", weights = "basew")
d.lonely <- list(data = "lonely", strata = "st", weights = "w")

raking.clus1 <- list(list(type = "rake", margins = list(pop.types, pop.schwide)))
raking.panel <- list(list(type = "rake", margins = list(pop.gender, pop.age, pop.region)))

cases <- list()
add <- function(name, design, estimator, steps = NULL, domain = NULL, lonely = "fail") {
  cases[[length(cases) + 1]] <<- list(name = name, design = design, steps = steps, domain = domain,
                                      estimator = estimator, lonely = lonely)
}
m.api <- list(type = "mean", vars = I(c("api00", "api99", "meals")))
t.enroll <- list(type = "total", vars = I(c("enroll", "api00")))
p.stype <- list(type = "mean", factor = "stype")
p.awards <- list(type = "mean", factor = "awards")
r.api <- list(type = "ratio", num = "api00", den = "api99")
ci <- function(var, level, method) list(type = "ciprop", var = var, level = level, method = method, level.ci = 0.95)
chi <- function(r, c, s) list(type = "chisq", rows = r, cols = c, statistic = s)

for (d in list(srs = d.srs, srs_fpc = d.srs.fpc, strat = d.strat, strat_fpc = d.strat.fpc,
               clus1 = d.clus1, clus1_fpc = d.clus1.fpc)) {
  nm <- d$data
  tag <- paste0(nm, if (!is.null(d$fpc)) "_fpc" else "")
  add(paste(tag, "mean"), d, m.api)
  add(paste(tag, "total"), d, t.enroll)
  add(paste(tag, "proportions awards"), d, p.awards)
  add(paste(tag, "ratio"), d, r.api)
  add(paste(tag, "domain E mean"), d, m.api, domain = list(var = "stype", eq = "E"))
  add(paste(tag, "domain comp.imp proportions"), d, p.awards, domain = list(var = "comp.imp", eq = "Yes"))
  for (meth in c("logit", "beta", "mean", "wilson")) add(paste(tag, "ciprop", meth), d, ci("sch.wide", "Yes", meth))
  add(paste(tag, "ciprop logit domain"), d, ci("awards", "Yes", "logit"), domain = list(var = "stype", eq = "M"))
  for (s in c("F", "Chisq")) add(paste(tag, "chisq", s), d, chi("sch.wide", "stype", s))
}
add("apiclus2 mean", d.clus2, list(type = "mean", vars = I(c("api00", "meals"))))
add("apiclus2 proportions", d.clus2, p.stype)
add("apiclus2 ratio", d.clus2, r.api)
add("apiclus2 domain", d.clus2, list(type = "mean", vars = I("api00")), domain = list(var = "stype", eq = "H"))

# Weighting on the api data.
ps.strat <- list(list(type = "postStratify", vars = I("stype"),
                      cells = lapply(1:3, function(i) list(levels = I(pop.types$levels[i]), total = as.vector(unclass(pop.types$totals)[i])))))
add("apistrat postStratify mean", d.strat, m.api, steps = ps.strat)
add("apistrat postStratify total", d.strat, t.enroll, steps = ps.strat)
add("apistrat postStratify proportions", d.strat, p.awards, steps = ps.strat)
add("apistrat postStratify domain", d.strat, m.api, steps = ps.strat, domain = list(var = "sch.wide", eq = "Yes"))
ps.clus1 <- list(list(type = "postStratify", vars = I("stype"),
                      cells = lapply(1:3, function(i) list(levels = I(pop.types$levels[i]), total = as.vector(unclass(pop.types$totals)[i])))))
add("apiclus1 postStratify mean", d.clus1, m.api, steps = ps.clus1)
add("apiclus1 postStratify ratio", d.clus1, r.api, steps = ps.clus1)

add("apiclus1 rake mean", d.clus1, m.api, steps = raking.clus1)
add("apiclus1 rake total", d.clus1, t.enroll, steps = raking.clus1)
add("apiclus1 rake proportions", d.clus1, p.awards, steps = raking.clus1)
add("apiclus1 rake ratio", d.clus1, r.api, steps = raking.clus1)
add("apiclus1 rake domain", d.clus1, m.api, steps = raking.clus1, domain = list(var = "comp.imp", eq = "Yes"))
for (meth in c("logit", "beta", "mean", "wilson")) add(paste("apiclus1 rake ciprop", meth), d.clus1, ci("awards", "Yes", meth), steps = raking.clus1)
for (s in c("F", "Chisq")) add(paste("apiclus1 rake chisq", s), d.clus1, chi("comp.imp", "stype", s), steps = raking.clus1)

cal.cat <- function(calfun, bounds = NULL) list(list(type = "calibrate", calfun = calfun, margins = list(pop.types, pop.schwide), bounds = bounds))
for (cf in c("linear", "raking")) {
  add(paste("apiclus1 calibrate", cf, "mean"), d.clus1, m.api, steps = cal.cat(cf))
  add(paste("apiclus1 calibrate", cf, "proportions"), d.clus1, p.awards, steps = cal.cat(cf))
  add(paste("apiclus1 calibrate", cf, "domain"), d.clus1, m.api, steps = cal.cat(cf), domain = list(var = "stype", eq = "E"))
  add(paste("apiclus1 calibrate", cf, "chisq"), d.clus1, chi("comp.imp", "stype", "F"), steps = cal.cat(cf))
}
add("apiclus1 calibrate linear bounded mean", d.clus1, m.api, steps = cal.cat("linear", bounds = I(c(0.6, 1.6))))
cal.num <- list(list(type = "calibrate", calfun = "linear", terms = I(c("stype", "api99")),
                     totals = I(c(6194, 755, 1018, 3914069))))
add("apiclus1 calibrate numeric mean", d.clus1, m.api, steps = cal.num)
add("apiclus1 calibrate numeric total", d.clus1, t.enroll, steps = cal.num)
cal.num.rk <- list(list(type = "calibrate", calfun = "raking", terms = I(c("stype", "api99")),
                        totals = I(c(6194, 755, 1018, 3914069))))
add("apiclus1 calibrate numeric raking mean", d.clus1, m.api, steps = cal.num.rk)
add("apistrat rake then trim mean", d.strat, m.api,
    steps = c(list(list(type = "rake", margins = list(pop.types, pop.schwide))),
              list(list(type = "trim", lower = 20, upper = 40, strict = TRUE))))
add("apistrat poststratify then rake", d.strat, m.api,
    steps = c(ps.strat, list(list(type = "rake", margins = list(pop.schwide)))))

# The constructed panel: the netizen case.
p.safety <- list(type = "mean", factor = "safety")
m.risks <- list(type = "mean", vars = I(c("risk_pii", "risk_phish", "risk_other", "score")))
for (w in list(list(tag = "unweighted", steps = NULL),
               list(tag = "rake", steps = raking.panel),
               list(tag = "postStratify joint", steps = list(list(type = "postStratify", vars = I(c("gender", "age")), cells = joint.cells))),
               list(tag = "calibrate linear", steps = list(list(type = "calibrate", calfun = "linear", margins = list(pop.gender, pop.age, pop.region)))),
               list(tag = "calibrate raking", steps = list(list(type = "calibrate", calfun = "raking", margins = list(pop.gender, pop.age, pop.region)))))) {
  tag <- paste("panel", w$tag)
  add(paste(tag, "safety"), d.panel, p.safety, steps = w$steps)
  add(paste(tag, "risks"), d.panel, m.risks, steps = w$steps)
  add(paste(tag, "total"), d.panel, list(type = "total", factor = "improved"), steps = w$steps)
  add(paste(tag, "domain gov_bank"), d.panel, list(type = "mean", vars = I("gov_bank")), steps = w$steps,
      domain = list(var = "used_gov", eq = "yes"))
  add(paste(tag, "domain young safety"), d.panel, p.safety, steps = w$steps, domain = list(var = "age", eq = "a12_18"))
  for (meth in c("logit", "beta", "mean", "wilson")) add(paste(tag, "ciprop", meth), d.panel, ci("improved", "yes", meth), steps = w$steps)
  add(paste(tag, "ciprop domain"), d.panel, ci("safety", "very_safe", "logit"), steps = w$steps, domain = list(var = "region", eq = "r3"))
  for (s in c("F", "Chisq")) add(paste(tag, "chisq", s), d.panel, chi("safety", "region", s), steps = w$steps)
}
add("panel strata rake safety", d.panel.strat, p.safety, steps = list(list(type = "rake", margins = list(pop.gender, pop.age))))
add("panel strata rake domain", d.panel.strat, m.risks, steps = list(list(type = "rake", margins = list(pop.gender, pop.age))),
    domain = list(var = "improved", eq = "yes"))
add("panel strata chisq", d.panel.strat, chi("improved", "gender", "F"))
for (l in c("adjust", "average", "certainty", "remove")) {
  add(paste("lonely", l), d.lonely, list(type = "mean", vars = I("y")), lonely = l)
  add(paste("lonely total", l), d.lonely, list(type = "total", vars = I("y")), lonely = l)
}

# Multi-stage designs with an fpc at every stage: R's default multistage
# variance (survey.ultimate.cluster=FALSE). No weights: svydesign takes
# them from the fpcs, as the Go design does.
d.clus2.fpc <- list(data = "apiclus2", ids = I(c("dnum", "snum")), fpc = I(c("fpc1", "fpc2")))
d.clus2.fpc.w <- list(data = "apiclus2", ids = I(c("dnum", "snum")), weights = "pw", fpc = I(c("fpc1", "fpc2")))
d.mu284 <- list(data = "mu284", ids = I(c("id1", "id2")), fpc = I(c("n1", "n2")))
add("apiclus2_fpc mean", d.clus2.fpc, list(type = "mean", vars = I(c("api00", "meals"))))
t.api <- list(type = "total", vars = I(c("api00", "meals"))) # enroll has NAs in apiclus2
add("apiclus2_fpc total", d.clus2.fpc, t.api)
add("apiclus2_fpc weights total", d.clus2.fpc.w, t.api)
add("apiclus2_fpc proportions", d.clus2.fpc, p.stype)
add("apiclus2_fpc ratio", d.clus2.fpc, r.api)
add("apiclus2_fpc domain", d.clus2.fpc, list(type = "mean", vars = I("api00")), domain = list(var = "stype", eq = "H"))
for (meth in c("logit", "beta", "mean", "wilson")) add(paste("apiclus2_fpc ciprop", meth), d.clus2.fpc, ci("sch.wide", "Yes", meth))
add("apiclus2_fpc chisq F", d.clus2.fpc, chi("sch.wide", "stype", "F"))
add("apiclus2_fpc rake mean", d.clus2.fpc, m.api, steps = raking.clus1)
add("mu284 mean", d.mu284, list(type = "mean", vars = I("y1")))
add("mu284 total", d.mu284, list(type = "total", vars = I("y1")))
add("mu284 domain", d.mu284, list(type = "mean", vars = I("y1")), domain = list(var = "big", eq = "yes"))
for (meth in c("logit", "beta")) add(paste("mu284 ciprop", meth), d.mu284, ci("big", "yes", meth))
d.lonely2a <- list(data = "lonely2", ids = I(c("psu", "ssu")), strata = "st", fpc = I(c("N1", "N2a")))
d.lonely2b <- list(data = "lonely2", ids = I(c("psu", "ssu")), strata = I(c("st", "st2")), fpc = I(c("N1", "N2b")))
for (l in c("fail", "adjust", "certainty", "remove")) {
  add(paste("lonely2 stage 2", l), d.lonely2a, list(type = "total", vars = I("y")), lonely = l)
}
for (l in c("fail", "adjust", "average", "remove")) {
  add(paste("lonely2 stage-2 strata", l), d.lonely2b, list(type = "mean", vars = I("y")), lonely = l)
}
# Domains of a design without weighting steps: R drops the rows outside,
# so a lonely stratum left without rows neither fails nor counts.
add("lonely domain fail", d.lonely, list(type = "mean", vars = I("y")), domain = list(var = "st", eq = "3"))
add("lonely2 stage 2 domain fail", d.lonely2a, list(type = "total", vars = I("y")), domain = list(var = "keep4", eq = "yes"))
add("lonely2 stage-2 strata domain average", d.lonely2b, list(type = "mean", vars = I("y")), lonely = "average",
    domain = list(var = "keep3", eq = "yes"))
add("lonely2 stage-2 strata domain fail", d.lonely2b, list(type = "mean", vars = I("y")), domain = list(var = "keep3", eq = "yes"))
d.stage3 <- list(data = "stage3", ids = I(c("psu", "ssu", "el")), strata = "st", fpc = I(c("N1", "N2", "N3")))
add("stage3 mean", d.stage3, list(type = "mean", vars = I("y")))
add("stage3 total", d.stage3, list(type = "total", vars = I("y")))

# ---------------------------------------------------------------- run
results <- lapply(cases, function(cs) {
  options(survey.lonely.psu = cs$lonely)
  des <- make.design(cs$design)
  for (st in cs$steps) des <- apply.step(des, st)
  if (!is.null(cs$domain)) {
    keep <- des$variables[[cs$domain$var]] == cs$domain$eq
    keep[is.na(keep)] <- FALSE
    des <- des[keep, ]
  }
  # An error is a result too (the lonely-PSU rule "fail").
  res <- tryCatch(estimate(des, cs$estimator), error = function(e) list(error = conditionMessage(e)))
  res$n_design <- nrow(des)
  cs$result <- res
  cs
})
options(survey.lonely.psu = "fail")

doc <- list(
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  generated_by = "stats/testdata/reference.R",
  cases = results)
writeLines(toj(doc), file.path(out.dir, "reference.json"))
cat(length(results), "cases written\n")
