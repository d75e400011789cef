; XCTest: methods named test* of classes (and extensions); Swift Testing: functions marked
; @Test (free or in a type), types marked @Suite. The framework's rules decide candidates.

(class_declaration name: (_) @name) @suite
(class_declaration (modifiers (attribute) @attr) name: (_) @name) @suite

(class_declaration
  body: (class_body
    (function_declaration
      name: (simple_identifier) @name
      (parameter)? @params) @test.candidate))

(function_declaration
  (modifiers (attribute) @attr)
  name: (simple_identifier) @name) @test.candidate
