using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace GpuDev.Testing.Kubernetes;

public sealed partial class FakeKubernetesServer
{
    internal sealed record WatchLine(string Type, JsonObject Object);

    /// <summary>One open watch: the filter and the queue of lines still to be written.</summary>
    internal sealed class WatchSubscription(ResourceInfo resource, string? ns, LabelSelector labels, FieldSelector fields)
    {
        public Channel<WatchLine> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<WatchLine>(new() { SingleReader = true });

        public bool Matches(JsonObject o) =>
            (ns is null || !resource.Namespaced || o.Str("metadata", "namespace") == ns) && labels.Matches(o) && fields.Matches(o);

        /// <summary>Queues the event as this watch sees it (an object that starts or stops matching is ADDED or DELETED).</summary>
        public void Offer(StoredEvent e)
        {
            if (e.Resource != resource)
            {
                return;
            }

            var now = Matches(e.Object);
            var type = e.Type switch
            {
                "MODIFIED" when e.Old is not null => (Matches(e.Old), now) switch
                {
                    (true, true) => "MODIFIED",
                    (false, true) => "ADDED",
                    (true, false) => "DELETED",
                    _ => null,
                },
                _ when now => e.Type,
                _ => null,
            };
            if (type is not null)
            {
                Channel.Writer.TryWrite(new WatchLine(type, e.Object));
            }
        }
    }

    private JsonObject Bookmark(ResourceInfo r, bool initialEventsEnd)
    {
        var meta = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) };
        if (initialEventsEnd)
        {
            meta["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
        }

        return new JsonObject { ["kind"] = r.Kind, ["apiVersion"] = r.ApiVersion, ["metadata"] = meta };
    }

    private async Task WatchAsync(HttpContext ctx, ResourceInfo r, string? ns)
    {
        var query = ctx.Request.Query;
        var subscription = new WatchSubscription(r, ns, LabelSelector.Parse(query["labelSelector"]), FieldSelector.Parse(query["fieldSelector"], r));
        var rvText = (string?)query["resourceVersion"];
        var allowBookmarks = query["allowWatchBookmarks"] == "true";
        var sendInitial = query["sendInitialEvents"] == "true";
        lock (_gate)
        {
            if (string.IsNullOrEmpty(rvText) || rvText == "0" || sendInitial)
            {
                var initial = r == ResourceInfo.Namespaces ? AllNamespacesLocked() : Items(r, ns);
                foreach (var o in initial.Where(subscription.Matches))
                {
                    subscription.Channel.Writer.TryWrite(new WatchLine("ADDED", o));
                }

                if (sendInitial && allowBookmarks)
                {
                    subscription.Channel.Writer.TryWrite(new WatchLine("BOOKMARK", Bookmark(r, initialEventsEnd: true)));
                }

                _watchers.Add(subscription);
            }
            else if (!long.TryParse(rvText, NumberStyles.None, CultureInfo.InvariantCulture, out var from))
            {
                throw KubeApiException.BadRequest($"invalid resource version: {rvText}");
            }
            else if (from < _historyFloor)
            {
                var status = KubeApiException.Gone($"too old resource version: {from} ({_historyFloor + 1})").ToStatus();
                subscription.Channel.Writer.TryWrite(new WatchLine("ERROR", status));
                subscription.Channel.Writer.TryComplete();
            }
            else
            {
                foreach (var e in _history.Where(e => e.ResourceVersion > from))
                {
                    subscription.Offer(e);
                }

                _watchers.Add(subscription);
            }
        }

        try
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            ctx.Response.Headers.CacheControl = "no-cache, private";
            await ctx.Response.StartAsync(ctx.RequestAborted).ConfigureAwait(false);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);

            using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
            if (int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var timeout) && timeout > 0)
            {
                lifetime.CancelAfter(TimeSpan.FromSeconds(timeout));
            }

            var reader = subscription.Channel.Reader;
            while (!lifetime.IsCancellationRequested)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
                if (allowBookmarks)
                {
                    tick.CancelAfter(Options.BookmarkInterval);
                }

                try
                {
                    if (!await reader.WaitToReadAsync(tick.Token).ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException) when (!lifetime.IsCancellationRequested)
                {
                    lock (_gate)
                    {
                        subscription.Channel.Writer.TryWrite(new WatchLine("BOOKMARK", Bookmark(r, initialEventsEnd: false)));
                    }

                    continue;
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                while (reader.TryRead(out var line))
                {
                    var text = $"{{\"type\":\"{line.Type}\",\"object\":{line.Object.ToJsonString()}}}\n";
                    await ctx.Response.WriteAsync(text, lifetime.Token).ConfigureAwait(false);
                }

                await ctx.Response.Body.FlushAsync(lifetime.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout, client gone or server stopping: the stream simply ends.
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(subscription);
            }
        }
    }
}
