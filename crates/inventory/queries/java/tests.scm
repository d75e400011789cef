; JUnit 4, JUnit 5 and TestNG: classes are suites (nested classes nest), methods are test
; candidates whose annotations (@attr, one match per annotation, merged by node) decide.

(class_declaration name: (identifier) @name) @suite
(class_declaration
  (modifiers [(marker_annotation) (annotation)] @attr)
  name: (identifier) @name) @suite

(method_declaration
  (modifiers [(marker_annotation) (annotation)] @attr)
  name: (identifier) @name) @test.candidate
