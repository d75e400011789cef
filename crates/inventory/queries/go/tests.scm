; Go testing: func TestX(t *testing.T) and FuzzX(f *testing.F) are tests; t.Run(name, fn)
; inside them are subtests (a test with subtests becomes a suite). A subtest named by an
; expression, or inside a `for` loop over a table, is one dynamic test.

(function_declaration
  name: (identifier) @name
  parameters: (parameter_list
    (parameter_declaration
      type: (pointer_type (qualified_type
        package: (package_identifier) @_pkg
        name: (type_identifier) @_type))))
  (#match? @name "^(Test|Fuzz)([^a-z]|$)")
  (#eq? @_pkg "testing")
  (#match? @_type "^[TF]$")) @test

; t.Skip(...) anywhere in a test or subtest skips it (often under a condition).
(call_expression
  function: (selector_expression
    operand: (identifier)
    field: (field_identifier) @_skip)
  (#match? @_skip "^Skip(f|Now)?$")) @annotation.skip

; `b.Run(name, func(b *testing.B) {...})` in a benchmark is a sub-benchmark, not a test:
; `go test` neither lists nor runs it as one.
(call_expression
  function: (selector_expression
    operand: (identifier) @_recv
    field: (field_identifier) @_run)
  arguments: (argument_list
    .
    (_) @name.expr
    .
    [(func_literal parameters: (parameter_list) @_params)
     (identifier) (selector_expression) (call_expression)]
    .)
  (#eq? @_run "Run")
  (#not-match? @_recv "^suite$")
  (#not-match? @_params "[*][ \t]*testing[.]B[^a-zA-Z0-9_]")) @test
