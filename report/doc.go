// Package report owns the survey report generated from data: a report
// definition per form (chapters, numbered figures, chart kinds, nets, the
// base wave, weighting), Build, which computes every figure's table with
// package stats and writes the narrative from those same numbers, and the
// outputs: one self-contained report.html with ECharts inlined, tables.xlsx
// with one sheet per figure, report.docx and report.pdf (through
// report/docx and report/charts).
//
// Numbers reach the text, the tables, the charts and the workbook through
// one function (pct), from one stats.Analysis per wave (and weighting), so
// the narrative cannot disagree with the tables. Words that judge a change
// between waves ("明显提升") are used only when the comparison's test says
// the change is significant at the report's level.
package report
