; PHPUnit: classes are suites; methods are test candidates, tests when named test*, or
; marked by a `#[Test]` attribute or a `/** @test */` docblock (a preceding comment,
; read as a sibling attribute). Runtime markers as the first statement set the status.

(class_declaration name: (name) @name) @suite

(method_declaration name: (name) @name) @test.candidate
(method_declaration attributes: (attribute_list) @attr name: (name) @name) @test.candidate

(method_declaration
  name: (name) @name
  body: (compound_statement
    .
    (expression_statement
      (member_call_expression name: (name) @_m) @skip))
  (#eq? @_m "markTestSkipped")) @test.candidate

(method_declaration
  name: (name) @name
  body: (compound_statement
    .
    (expression_statement
      (member_call_expression name: (name) @_m) @todo))
  (#eq? @_m "markTestIncomplete")) @test.candidate
