using System.Net;
using System.Text.RegularExpressions;

namespace GpuDev.Testing.Oidc;

/// <summary>A form on one of the provider's pages, read the way a browser would submit it: its action (relative to the
/// page) and every named input with its value, hidden ones (<c>xsrf</c>, <c>confirm</c>) included. Enough HTML for the
/// provider's own plain pages; not a general parser.</summary>
internal sealed partial class HtmlForm
{
    private HtmlForm(Uri action, Dictionary<string, string> fields)
    {
        Action = action;
        Fields = fields;
    }

    public Uri Action { get; }

    public Dictionary<string, string> Fields { get; }

    /// <summary>The first form on the page that has an input named <paramref name="field"/>, or null.</summary>
    public static HtmlForm? WithField(string html, Uri page, string field) => All(html, page).FirstOrDefault(f => f.Fields.ContainsKey(field));

    /// <summary>The first form on the page whose action path ends with <paramref name="suffix"/>, or null.</summary>
    public static HtmlForm? WithAction(string html, Uri page, string suffix) =>
        All(html, page).FirstOrDefault(f => f.Action.AbsolutePath.EndsWith(suffix, StringComparison.Ordinal));

    public FormUrlEncodedContent Content() => new(Fields);

    private static IEnumerable<HtmlForm> All(string html, Uri page)
    {
        foreach (Match form in FormPattern().Matches(html))
        {
            var action = Attribute(form.Groups["attrs"].Value, "action");
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match input in InputPattern().Matches(form.Groups["body"].Value))
            {
                if (Attribute(input.Groups["attrs"].Value, "name") is { } name)
                {
                    fields[name] = Attribute(input.Groups["attrs"].Value, "value") ?? "";
                }
            }

            yield return new HtmlForm(action is null ? page : new Uri(page, action), fields);
        }
    }

    private static string? Attribute(string attributes, string name) =>
        AttributePattern().Matches(attributes).FirstOrDefault(m => m.Groups["name"].Value.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } m
            ? WebUtility.HtmlDecode(m.Groups["value"].Value)
            : null;

    [GeneratedRegex("""<form\b(?<attrs>[^>]*)>(?<body>.*?)</form>""", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex FormPattern();

    [GeneratedRegex("""<input\b(?<attrs>[^>]*)>""", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex InputPattern();

    [GeneratedRegex("(?<name>[\\w.-]+)\\s*=\\s*\"(?<value>[^\"]*)\"")]
    private static partial Regex AttributePattern();
}
