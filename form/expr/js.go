package expr

import _ "embed"

//go:embed js/expr.js
var exprJS []byte

// JS returns expr.js, the browser evaluator of the trees AST produces
// (ES2017, no dependencies). It defines window.GovExpr, or module.exports
// under a CommonJS loader. The caller must not modify the slice.
func JS() []byte { return exprJS }
