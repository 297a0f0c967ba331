/**
 * The MJML frame every email shares: project header, a white card for the content, and a
 * footer. `preview` and `body` are MJML fragments and may use the template's placeholders.
 */
export function emailLayout({ preview, body }: { preview: string; body: string }): string {
  return `<mjml lang="en">
  <mj-head>
    <mj-title>{{project_name}}</mj-title>
    <mj-preview>${preview}</mj-preview>
    <mj-attributes>
      <mj-all font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" />
      <mj-text font-size="15px" line-height="24px" color="#1f2933" />
      <mj-button background-color="#2563eb" color="#ffffff" font-size="15px" font-weight="600" border-radius="6px" inner-padding="12px 24px" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f5f7">
    <mj-section padding="24px 0 8px">
      <mj-column>
        <mj-text font-size="20px" font-weight="700">{{project_name}}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" border-radius="8px" padding="16px 8px">
      <mj-column>
${body}
      </mj-column>
    </mj-section>
    <mj-section padding="8px 0 24px">
      <mj-column>
        <mj-text font-size="12px" line-height="18px" color="#6b7280">This email was sent by {{project_name}} about your account. Replies to this address are not read.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
}
