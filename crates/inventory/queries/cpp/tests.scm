; GoogleTest: TEST(Suite, Name) and friends parse as function definitions. The first macro
; argument groups tests into a suite (@group); parameterized and typed tests are dynamic;
; DISABLED_ prefixes are handled by the framework's name rules.

(function_definition
  declarator: (function_declarator
    declarator: (identifier) @_macro
    parameters: (parameter_list
      .
      (parameter_declaration type: (_) @group)
      .
      (parameter_declaration type: (_) @name)))
  (#match? @_macro "^(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P)$")) @test

(function_definition
  declarator: (function_declarator
    declarator: (identifier) @dynamic
    parameters: (parameter_list
      .
      (parameter_declaration type: (_) @group)
      .
      (parameter_declaration type: (_) @name)))
  (#match? @dynamic "^(TEST_P|TYPED_TEST|TYPED_TEST_P)$")) @test
