using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;

namespace GpuDev.Server.Api;

/// <summary>A 200 answer whose JSON body was serialized already (<see cref="ReadCache"/>); described in the OpenAPI
/// document as <typeparamref name="T"/>, as <c>Ok&lt;T&gt;</c> would be, with the same content type.</summary>
public sealed class JsonBody<T>(byte[] utf8Json) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult, IContentTypeHttpResult
{
    private const string JsonContentType = "application/json; charset=utf-8";

    public int? StatusCode => StatusCodes.Status200OK;

    public string ContentType => JsonContentType;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonContentType;
        response.ContentLength = utf8Json.Length;
        await response.Body.WriteAsync(utf8Json, httpContext.RequestAborted);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(T), ["application/json"]));
}
