using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Dashboard.Web.Api;

/// <summary>The start every multipart upload route shares: its size cap, before and while the body arrives, and the form's boundary.</summary>
internal static class MultipartUpload
{
    /// <summary>
    /// The boundary of a multipart form whose body may be at most <paramref name="maxBodyBytes"/>; null when the request
    /// declares a longer body (<paramref name="tooLarge"/>) or is not a multipart form. A body that turns out longer than
    /// it declared (or chunked) is cut off by the server once it passes the cap.
    /// </summary>
    public static string? Begin(HttpRequest request, long maxBodyBytes, out bool tooLarge)
    {
        tooLarge = request.ContentLength > maxBodyBytes;
        if (tooLarge)
        {
            return null;
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBodyBytes;
        }

        var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ? HeaderUtilities.RemoveQuotes(type.Boundary).Value : null;
        return request.HasFormContentType && !string.IsNullOrEmpty(boundary) ? boundary : null;
    }
}
