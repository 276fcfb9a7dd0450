/** Escaping for the XML and HTML reports. */

/** Escapes text for XML attributes and content, dropping characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return text
    // Control characters (from a model or input name) would make the whole file unparsable.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
