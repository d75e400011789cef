; xUnit, NUnit and MSTest: classes are suites, attributed methods are test candidates
; decided by the attribute rules (one match per attribute list, merged by node).

(class_declaration name: (identifier) @name) @suite
(class_declaration (attribute_list) @attr name: (identifier) @name) @suite

(method_declaration (attribute_list) @attr name: (identifier) @name) @test.candidate
