using System.Net;
using System.Net.Http.Json;
using Dashboard.Runs.Datasets;
using Dashboard.ServerProcess;

namespace Dashboard.TestSupport;

/// <summary>Typed calls of <c>/api/datasets</c>: multipart uploads of a CSV table or an image-folder zip.</summary>
public static class DashboardDatasetApi
{
    extension(DashboardServer server)
    {
        /// <summary><c>POST /api/datasets</c> with <paramref name="file"/> and the form fields, answered as it comes.</summary>
        public async Task<HttpResponseMessage> PostDatasetAsync(byte[] file, string fileName, params (string Name, string Value)[] fields)
        {
            using var form = new MultipartFormDataContent { { new ByteArrayContent(file), "file", fileName } };
            foreach (var (name, value) in fields)
            {
                form.Add(new StringContent(value), name);
            }

            return await server.Client.PostAsync("api/datasets", form);
        }

        /// <summary><c>POST /api/datasets</c>; fails with the server's answer unless it is 201.</summary>
        public async Task<DatasetSummaryDto> UploadDatasetAsync(byte[] file, string fileName, params (string Name, string Value)[] fields)
        {
            using var response = await server.PostDatasetAsync(file, fileName, fields);
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new HttpRequestException(
                    $"POST /api/datasets answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}", null, response.StatusCode);
            }

            return await response.Content.ReadFromJsonAsync<DatasetSummaryDto>(DashboardServer.Json)
                ?? throw new InvalidOperationException("POST /api/datasets answered 201 without a body.");
        }
    }
}
