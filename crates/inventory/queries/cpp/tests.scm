; GoogleTest: TEST(Suite, Name) and friends. Macro-heavy test bodies often defeat the C++
; grammar, so the query looks for the macro header wherever the parser put it: as the
; declarator of a function definition, or as a call when error recovery broke the
; definition. The hook (src/lang/cpp.rs) reads the suite and test names from the argument
; text (robust to names that are C++ keywords, such as `enum`). The suite becomes a
; synthetic group; DISABLED_ prefixes are the framework's name rules.

(function_declarator
  declarator: (identifier) @chain
  parameters: (parameter_list) @args
  (#match? @chain "^(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST)$")) @test

(call_expression
  function: (identifier) @chain
  arguments: (argument_list) @args
  (#match? @chain "^(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST)$")) @test
