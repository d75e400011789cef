
; Kotest spec styles. The hook (src/lang/kotlin.rs) reads the callee word:
; FunSpec test/context, DescribeSpec describe/it, ShouldSpec should/context,
; BehaviorSpec given/when/then, FeatureSpec feature/scenario, ExpectSpec expect/context,
; with x-prefixed disabled variants.
(call_expression
  (call_expression
    (identifier) @chain
    (value_arguments . (value_argument (string_literal) @name.expr)))
  (annotated_lambda)
  (#match? @chain "^x?(test|it|should|expect|scenario|then|Then|context|describe|feature|given|Given|when|When|and|And)$")) @item

; StringSpec and leaves of FreeSpec/WordSpec: "name" { ... }
(call_expression
  (string_literal) @name.expr
  (annotated_lambda)) @test

; FreeSpec containers: "name" - { ... }
(binary_expression
  left: (string_literal) @name.expr
  right: (lambda_literal)) @suite

; WordSpec containers: "name" should { ... } / "name" When { ... }
(infix_expression
  (string_literal) @name.expr
  (identifier)
  (lambda_literal)) @suite

; test("name").config(enabled = false) { ... }: the config arguments go to the hook.
(call_expression
  (call_expression
    (navigation_expression
      (call_expression
        (identifier) @chain
        (value_arguments . (value_argument (string_literal) @name.expr)))
      (identifier) @_config)
    (value_arguments) @args)
  (annotated_lambda)
  (#eq? @_config "config")
  (#match? @chain "^x?(test|it|should|expect|scenario|then|Then|context|describe|feature|given|Given|when|When|and|And)$")) @item
