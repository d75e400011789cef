; Suites and tests of the BDD/TDD style shared by Jest, Vitest, Mocha, Cypress and
; Playwright Test. The query finds calls whose callee starts with a known word; the
; language hook (src/lang/javascript.rs) reads the chain (`describe.skip.each`) for the
; kind, status and dynamic flag, because the combinations are too many for patterns.

; describe("name", fn) · it.skip("name", fn) · test.concurrent.only("name", fn) · xit("name")
(call_expression
  function: [(identifier) (member_expression)] @chain
  arguments: (arguments . (_) @name.expr) @args
  (#match? @chain "^(describe|context|suite|it|test|specify|xdescribe|fdescribe|xcontext|fcontext|xit|fit|xtest|xspecify)(\\.|$)")
  (#not-match? @chain "\\.(each|for|skipIf|runIf)$")) @item

; Curried forms: describe.each(table)("name %s", fn) · test.for(cases)("name") ·
; test.skipIf(cond)("name", fn) · it.each`table`("name", fn)
(call_expression
  function: (call_expression
    function: (member_expression) @chain)
  arguments: (arguments . (_) @name.expr) @args
  (#match? @chain "^(describe|context|suite|it|test|xdescribe|fdescribe|xit|fit|xtest)\\.")) @item
