using System.Text.Encodings.Web;

namespace GpuDev.Server.Ui;

/// <summary>The dashboard's HTML. Every value from outside (user names, messages) is HTML-encoded here; the page's data
/// is filled in by <c>app.js</c> from the API with <c>textContent</c>, never as markup.</summary>
internal static class UiPages
{
    private const string Head = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <link rel="icon" href="data:,">
        """;

    private static string E(string text) => HtmlEncoder.Default.Encode(text);

    public static string SignIn(string? error, bool oidc) => Card("Sign in", "", $$"""
        {{(error is null ? "" : $"<p class=\"error\" role=\"alert\" id=\"signin-error\">{E(error)}</p>")}}
        {{(oidc ? """
        <p><a class="button" id="signin-oidc" href="/ui/signin/oidc">Sign in with your organisation's account</a></p>
        <p class="or">Or paste a gpu-dev token:</p>
        """ : "")}}
        <form method="post" action="/ui/signin">
        <p>{{(oidc ? "The" : "Paste your gpu-dev token: the")}} one <code>gpu-dev login</code> saved (in <code>~/.config/gpu-dev/config.json</code>), or one an admin gave you.</p>
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required maxlength="512"{{(error is null ? "" : " aria-describedby=\"signin-error\" aria-invalid=\"true\"")}}{{(oidc ? "" : " autofocus")}}>
        <button type="submit">Sign in</button>
        </form>
        """);

    /// <summary>After a sign-out: goes on to the provider to end the session there. A page that moves on by itself rather
    /// than a redirect of the sign-out form, which the page's <c>form-action 'self'</c> would stop at the provider.</summary>
    public static string SignedOut(string providerUrl) => Card("Signed out", $"""<meta http-equiv="refresh" content="0;url={E(providerUrl)}">""", $"""
        <p>You are signed out of gpu-dev. <a href="{E(providerUrl)}">Sign out of your organisation's account too</a>.</p>
        """);

    /// <summary>A page of one card under the product's name (sign-in, signed out): <paramref name="title"/> as the
    /// page's title and the card's heading, <paramref name="head"/> added to the head.</summary>
    private static string Card(string title, string head, string body) => $$"""
        {{Head}}
        <title>{{title}} · gpu-dev</title>
        {{head}}
        <link rel="stylesheet" href="/ui/assets/app.css">
        </head>
        <body class="signin">
        <main id="main">
        <h1>gpu-dev</h1>
        <div class="card">
        <h2>{{title}}</h2>
        {{body}}
        </div>
        </main>
        </body>
        </html>
        """;

    public static string Dashboard(string user, bool admin) => $$"""
        {{Head}}
        <title>gpu-dev</title>
        <link rel="stylesheet" href="/ui/assets/vendor/vis-timeline/vis-timeline-graph2d.min.css">
        <link rel="stylesheet" href="/ui/assets/app.css">
        </head>
        <body data-user="{{E(user)}}">
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
        <h1>gpu-dev</h1>
        <p class="who">Signed in as <strong>{{E(user)}}</strong>{{(admin ? " (admin)" : "")}}</p>
        <form method="post" action="/ui/signout"><button type="submit">Sign out</button></form>
        </header>
        <main id="main">
        <p id="status" class="status" role="status" aria-live="polite">Loading…</p>

        <section aria-labelledby="h-availability">
        <h2 id="h-availability">Availability</h2>
        <div class="scroll"><table id="availability" class="stack">
        <caption>GPUs per type now</caption>
        <thead><tr><th scope="col">GPU type</th><th scope="col">Free / total</th><th scope="col">Largest block</th><th scope="col">Next free</th><th scope="col">Queued</th></tr></thead>
        <tbody></tbody>
        </table></div>
        </section>

        <section aria-labelledby="h-mine">
        <h2 id="h-mine">My reservations</h2>
        <div class="scroll"><table id="mine" class="stack">
        <caption>Your reservations and those you were added to</caption>
        <thead><tr><th scope="col">ID</th><th scope="col">Name</th><th scope="col">GPUs</th><th scope="col">Status</th><th scope="col">When</th><th scope="col">Connect</th><th scope="col">Jupyter</th><th scope="col">Actions</th></tr></thead>
        <tbody></tbody>
        </table></div>
        <p id="mine-empty" hidden>No reservations. Reserve GPUs with <code>gpu-dev reserve</code>.</p>
        </section>

        <section aria-labelledby="h-timeline">
        <h2 id="h-timeline">Timeline</h2>
        <p class="legend"><span class="swatch mine"></span> mine <span class="swatch running"></span> running <span class="swatch queued"></span> queued (at its guaranteed start; ◆ marks its likely start) · focus or hover an item for its details</p>
        <div id="timeline" role="group" aria-label="GPU occupancy per node, from now to the end of the last booking"></div>
        <p id="timeline-details" class="details" aria-live="polite"></p>
        </section>

        <section aria-labelledby="h-disks">
        <h2 id="h-disks">Disks</h2>
        <div class="scroll"><table id="disks" class="stack">
        <caption>Your disks and their snapshots</caption>
        <thead><tr><th scope="col">Disk</th><th scope="col">Status</th><th scope="col">Size</th><th scope="col">In use by</th><th scope="col">Snapshots</th><th scope="col">Latest snapshot</th></tr></thead>
        <tbody></tbody>
        </table></div>
        <p id="disks-empty" hidden>No disks.</p>
        </section>
        </main>

        <dialog id="confirm-cancel" aria-labelledby="cancel-title">
        <form method="dialog">
        <h2 id="cancel-title">Cancel reservation?</h2>
        <p id="cancel-text"></p>
        <div class="buttons"><button value="confirm" class="danger">Cancel reservation</button><button value="keep" autofocus>Keep it</button></div>
        </form>
        </dialog>

        <dialog id="confirm-extend" aria-labelledby="extend-title">
        <form method="dialog">
        <h2 id="extend-title">Extend reservation</h2>
        <p id="extend-text"></p>
        <label for="extend-hours">Hours to add (up to 24, once per reservation)</label>
        <input id="extend-hours" name="hours" type="number" min="0.25" max="24" step="0.25" value="1" required>
        <div class="buttons"><button value="confirm">Extend reservation</button><button value="keep" formnovalidate>Keep as is</button></div>
        </form>
        </dialog>

        <script src="/ui/assets/vendor/vis-timeline/vis-timeline-graph2d.min.js"></script>
        <script src="/ui/assets/app.js"></script>
        </body>
        </html>
        """;
}
