/// `value` as a double-quoted literal that JSON and YAML both read back unchanged: quote,
/// backslash, and control characters (DEL included, which YAML does not allow raw) escaped, and
/// the characters YAML reads as line breaks (U+0085, U+2028, U+2029: folded into a space inside
/// quotes) or does not allow raw (the other C1 controls, U+FEFF, U+FFFE, U+FFFF).
func doubleQuoted(_ value: String) -> String {
    var quoted = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": quoted += "\\\""
        case "\\": quoted += "\\\\"
        case "\n": quoted += "\\n"
        case "\r": quoted += "\\r"
        case "\t": quoted += "\\t"
        case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
            || [0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF].contains(scalar.value):
            let hex = String(scalar.value, radix: 16)
            quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: quoted.unicodeScalars.append(scalar)
        }
    }
    return quoted + "\""
}
