; xUnit, NUnit and MSTest: classes are suites, attributed methods are test candidates
; decided by the attribute rules (one match per attribute list, merged by node).
; Attribute lists inside `#if`/`#elif`/`#else` are read in every branch (conditions are not
; evaluated, as for C++): a `[Test]` under `#if` counts, an `[Ignore]` under `#if` skips.

(class_declaration name: (identifier) @name) @suite
(class_declaration (attribute_list) @attr name: (identifier) @name) @suite
(class_declaration
  (preproc_if_in_attribute_list (attribute_list) @attr) name: (identifier) @name) @suite
(class_declaration
  (preproc_if_in_attribute_list alternative: (_ (attribute_list) @attr))
  name: (identifier) @name) @suite
(class_declaration
  (preproc_if_in_attribute_list alternative: (_ alternative: (_ (attribute_list) @attr)))
  name: (identifier) @name) @suite

(method_declaration (attribute_list) @attr name: (identifier) @name) @test.candidate
(method_declaration
  (preproc_if_in_attribute_list (attribute_list) @attr) name: (identifier) @name) @test.candidate
(method_declaration
  (preproc_if_in_attribute_list alternative: (_ (attribute_list) @attr))
  name: (identifier) @name) @test.candidate
(method_declaration
  (preproc_if_in_attribute_list alternative: (_ alternative: (_ (attribute_list) @attr)))
  name: (identifier) @name) @test.candidate
