; JUnit in Kotlin (and Kotest's AnnotationSpec): classes are suites, annotated functions
; are test candidates decided by the annotation rules.

(class_declaration name: (identifier) @name) @suite
(class_declaration
  (modifiers (annotation) @attr)
  name: (identifier) @name) @suite
(object_declaration name: (identifier) @name) @suite

(function_declaration
  (modifiers (annotation) @attr)
  name: (identifier) @name) @test.candidate
