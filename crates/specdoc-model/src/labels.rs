//! The fixed words of the Markdown rendering, in the document's language.
//!
//! Chosen by the language the sentences are written in (`content_language`), so a page never
//! mixes English headings with Korean sentences or the reverse. Languages without a table here
//! get English labels; the sentences themselves come from the model in any language.

/// What a count counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Noun {
    Behavior,
    Domain,
    Feature,
}

/// The labels of one language.
pub(crate) struct Labels {
    pub title: &'static str,
    pub repository: &'static str,
    pub commit: &'static str,
    pub version: &'static str,
    pub language: &'static str,
    pub generated: &'static str,
    pub contents_row: &'static str,
    pub model_usage: &'static str,
    pub calls: &'static str,
    pub tokens: &'static str,
    pub input: &'static str,
    pub output: &'static str,
    pub note: &'static str,
    pub summary: &'static str,
    pub contents: &'static str,
    pub no_behaviors: &'static str,
    pub fallback_feature: &'static str,
    pub skipped: &'static str,
    pub todo: &'static str,
    pub focused: &'static str,
    pub xfail: &'static str,
    /// Singular and plural nouns (the same word where the language does not inflect).
    nouns: [(&'static str, &'static str); 3],
    style: CountStyle,
}

/// How a count is written.
#[derive(Clone, Copy)]
enum CountStyle {
    /// "3 behaviors": number, then the singular for 1 and the plural otherwise.
    NumberNoun,
    /// Korean "동작 3개".
    NounNumberGae,
    /// Japanese "振る舞い 3 件".
    NounNumberKen,
    /// Chinese "3 个行为".
    NumberGeNoun,
}

impl Labels {
    /// "3 behaviors", "동작 3개", …
    pub fn count(&self, n: usize, noun: Noun) -> String {
        let (one, many) = self.nouns[noun as usize];
        match self.style {
            CountStyle::NumberNoun => format!("{n} {}", if n == 1 { one } else { many }),
            CountStyle::NounNumberGae => format!("{one} {n}개"),
            CountStyle::NounNumberKen => format!("{one} {n} 件"),
            CountStyle::NumberGeNoun => format!("{n} 个{one}"),
        }
    }
}

const EN: Labels = Labels {
    title: "Specification",
    repository: "Repository",
    commit: "Commit",
    version: "Version",
    language: "Language",
    generated: "Generated",
    contents_row: "Behaviors",
    model_usage: "Model usage",
    calls: "calls",
    tokens: "tokens",
    input: "in",
    output: "out",
    note: "Note",
    summary: "Summary",
    contents: "Contents",
    no_behaviors: "No behaviors: the inventory has no tests.",
    fallback_feature: "These are the original test names: converting this feature failed",
    skipped: "skipped",
    todo: "to do",
    focused: "focused",
    xfail: "expected to fail",
    nouns: [
        ("behavior", "behaviors"),
        ("domain", "domains"),
        ("feature", "features"),
    ],
    style: CountStyle::NumberNoun,
};

const KO: Labels = Labels {
    title: "명세",
    repository: "저장소",
    commit: "커밋",
    version: "버전",
    language: "언어",
    generated: "생성",
    contents_row: "동작",
    model_usage: "모델 사용량",
    calls: "호출",
    tokens: "토큰",
    input: "입력",
    output: "출력",
    note: "참고",
    summary: "요약",
    contents: "목차",
    no_behaviors: "동작 없음: 인벤토리에 테스트가 없습니다.",
    fallback_feature: "원래 테스트 이름입니다: 이 기능의 문장 변환에 실패했습니다",
    skipped: "건너뜀",
    todo: "할 일",
    focused: "집중 실행",
    xfail: "실패 예상",
    nouns: [("동작", "동작"), ("도메인", "도메인"), ("기능", "기능")],
    style: CountStyle::NounNumberGae,
};

const JA: Labels = Labels {
    title: "仕様書",
    repository: "リポジトリ",
    commit: "コミット",
    version: "バージョン",
    language: "言語",
    generated: "生成",
    contents_row: "振る舞い",
    model_usage: "モデル使用量",
    calls: "呼び出し",
    tokens: "トークン",
    input: "入力",
    output: "出力",
    note: "注記",
    summary: "概要",
    contents: "目次",
    no_behaviors: "振る舞いはありません: インベントリにテストがありません。",
    fallback_feature: "元のテスト名です: この機能の文への変換に失敗しました",
    skipped: "スキップ",
    todo: "未実装",
    focused: "フォーカス",
    xfail: "失敗を想定",
    nouns: [
        ("振る舞い", "振る舞い"),
        ("ドメイン", "ドメイン"),
        ("機能", "機能"),
    ],
    style: CountStyle::NounNumberKen,
};

const ZH: Labels = Labels {
    title: "规格说明",
    repository: "仓库",
    commit: "提交",
    version: "版本",
    language: "语言",
    generated: "生成",
    contents_row: "行为",
    model_usage: "模型用量",
    calls: "调用",
    tokens: "令牌",
    input: "输入",
    output: "输出",
    note: "注意",
    summary: "摘要",
    contents: "目录",
    no_behaviors: "没有行为：清单中没有测试。",
    fallback_feature: "以下为原始测试名称：此功能的转换失败",
    skipped: "已跳过",
    todo: "待办",
    focused: "聚焦",
    xfail: "预期失败",
    nouns: [("行为", "行为"), ("领域", "领域"), ("功能", "功能")],
    style: CountStyle::NumberGeNoun,
};

const ES: Labels = Labels {
    title: "Especificación",
    repository: "Repositorio",
    commit: "Commit",
    version: "Versión",
    language: "Idioma",
    generated: "Generado",
    contents_row: "Comportamientos",
    model_usage: "Uso del modelo",
    calls: "llamadas",
    tokens: "tokens",
    input: "entrada",
    output: "salida",
    note: "Nota",
    summary: "Resumen",
    contents: "Contenido",
    no_behaviors: "Sin comportamientos: el inventario no tiene pruebas.",
    fallback_feature:
        "Estos son los nombres originales de las pruebas: falló la conversión de esta funcionalidad",
    skipped: "omitida",
    todo: "pendiente",
    focused: "enfocada",
    xfail: "se espera que falle",
    nouns: [
        ("comportamiento", "comportamientos"),
        ("dominio", "dominios"),
        ("funcionalidad", "funcionalidades"),
    ],
    style: CountStyle::NumberNoun,
};

const DE: Labels = Labels {
    title: "Spezifikation",
    repository: "Repository",
    commit: "Commit",
    version: "Version",
    language: "Sprache",
    generated: "Erzeugt",
    contents_row: "Verhalten",
    model_usage: "Modellnutzung",
    calls: "Aufrufe",
    tokens: "Tokens",
    input: "Eingabe",
    output: "Ausgabe",
    note: "Hinweis",
    summary: "Zusammenfassung",
    contents: "Inhalt",
    no_behaviors: "Keine Verhaltensweisen: Das Inventar enthält keine Tests.",
    fallback_feature:
        "Dies sind die ursprünglichen Testnamen: Die Umwandlung dieses Features ist fehlgeschlagen",
    skipped: "übersprungen",
    todo: "offen",
    focused: "fokussiert",
    xfail: "erwarteter Fehlschlag",
    nouns: [
        ("Verhalten", "Verhaltensweisen"),
        ("Domäne", "Domänen"),
        ("Feature", "Features"),
    ],
    style: CountStyle::NumberNoun,
};

const FR: Labels = Labels {
    title: "Spécification",
    repository: "Dépôt",
    commit: "Commit",
    version: "Version",
    language: "Langue",
    generated: "Générée",
    contents_row: "Comportements",
    model_usage: "Utilisation du modèle",
    calls: "appels",
    tokens: "jetons",
    input: "entrée",
    output: "sortie",
    note: "Remarque",
    summary: "Résumé",
    contents: "Sommaire",
    no_behaviors: "Aucun comportement : l’inventaire ne contient aucun test.",
    fallback_feature:
        "Ce sont les noms de tests d’origine : la conversion de cette fonctionnalité a échoué",
    skipped: "ignoré",
    todo: "à faire",
    focused: "ciblé",
    xfail: "échec attendu",
    nouns: [
        ("comportement", "comportements"),
        ("domaine", "domaines"),
        ("fonctionnalité", "fonctionnalités"),
    ],
    style: CountStyle::NumberNoun,
};

const PT: Labels = Labels {
    title: "Especificação",
    repository: "Repositório",
    commit: "Commit",
    version: "Versão",
    language: "Idioma",
    generated: "Gerado",
    contents_row: "Comportamentos",
    model_usage: "Uso do modelo",
    calls: "chamadas",
    tokens: "tokens",
    input: "entrada",
    output: "saída",
    note: "Nota",
    summary: "Resumo",
    contents: "Sumário",
    no_behaviors: "Nenhum comportamento: o inventário não tem testes.",
    fallback_feature:
        "Estes são os nomes originais dos testes: a conversão desta funcionalidade falhou",
    skipped: "ignorado",
    todo: "pendente",
    focused: "focado",
    xfail: "falha esperada",
    nouns: [
        ("comportamento", "comportamentos"),
        ("domínio", "domínios"),
        ("funcionalidade", "funcionalidades"),
    ],
    style: CountStyle::NumberNoun,
};

/// The labels for a primary language subtag; English for languages without a table.
pub(crate) fn for_language(primary: &str) -> &'static Labels {
    match primary {
        "ko" => &KO,
        "ja" => &JA,
        "zh" => &ZH,
        "es" => &ES,
        "de" => &DE,
        "fr" => &FR,
        "pt" => &PT,
        _ => &EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_each_language() {
        assert_eq!(for_language("en").count(1, Noun::Behavior), "1 behavior");
        assert_eq!(for_language("en").count(3, Noun::Domain), "3 domains");
        assert_eq!(for_language("ko").count(3, Noun::Behavior), "동작 3개");
        assert_eq!(for_language("ja").count(3, Noun::Feature), "機能 3 件");
        assert_eq!(for_language("zh").count(3, Noun::Domain), "3 个领域");
        assert_eq!(for_language("de").count(1, Noun::Behavior), "1 Verhalten");
        assert_eq!(
            for_language("de").count(2, Noun::Behavior),
            "2 Verhaltensweisen"
        );
        assert_eq!(for_language("pt").count(2, Noun::Domain), "2 domínios");
        assert_eq!(for_language("it").count(2, Noun::Feature), "2 features");
    }
}
